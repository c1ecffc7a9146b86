"""Scrapy commands of nianbao (COMMANDS_MODULE)."""

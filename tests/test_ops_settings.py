"""The operations settings switch the right components on, and refuse contradictory or malformed values with one
line naming the setting."""

from __future__ import annotations

import pytest
from scrapy.settings import Settings

from crawler.distributed import CoordinatorConfig, RedisFrontier
from crawler.incremental import IncrementalConfig
from crawler.resume import DurableJobdir
from crawler.security import GuardConfig


def _project(**values: object) -> Settings:
    s = Settings()
    s.setmodule("crawler.settings", priority="project")
    s.setdict(values, priority="cmdline")
    return s


def _apply(settings: Settings) -> Settings:
    RedisFrontier().update_settings(settings)
    DurableJobdir().update_settings(settings)
    return settings


def test_defaults_keep_scrapys_scheduler() -> None:
    s = _apply(_project())
    assert s.get("SCHEDULER") == "scrapy.core.scheduler.Scheduler"
    assert "crawler.distributed.WorkerCoordinator" not in str(s.getdict("EXTENSIONS"))
    assert s.getbool("TELNETCONSOLE_ENABLED") is False and s.getbool("REMOTE_CONTROL_ENABLED") is False


def test_redis_url_switches_frontier_and_dupefilter() -> None:
    s = _apply(_project(NIANBAO_REDIS_URL="redis://127.0.0.1:6390/2"))
    assert s.get("SCHEDULER") == "crawler.distributed.SharedScheduler"
    assert s.get("DUPEFILTER_CLASS") == "scrapy_redis.dupefilter.RFPDupeFilter"
    assert s.get("REDIS_URL") == "redis://127.0.0.1:6390/2"
    assert s.getbool("SCHEDULER_PERSIST") is True
    assert any("WorkerCoordinator" in str(k) for k in s.getdict("EXTENSIONS"))


def test_jobdir_switches_to_the_durable_scheduler() -> None:
    s = _apply(_project(JOBDIR="/tmp/job"))
    assert s.get("SCHEDULER") == "crawler.resume.DurableScheduler"
    assert any("FrontierSpiderMiddleware" in str(k) for k in s.getdict("SPIDER_MIDDLEWARES"))
    off = _apply(_project(JOBDIR="/tmp/job", NIANBAO_DURABLE_JOBDIR=False))
    assert off.get("SCHEDULER") == "scrapy.core.scheduler.Scheduler"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"NIANBAO_REDIS_URL": "http://127.0.0.1:6379"}, "NIANBAO_REDIS_URL: 'http://127.0.0.1:6379' is not a redis://"),
        ({"NIANBAO_REDIS_URL": "redis://h/0", "JOBDIR": "/tmp/j"}, "NIANBAO_REDIS_URL and JOBDIR both set"),
    ],
)
def test_contradictions_refused(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        _apply(_project(**values))


def test_malformed_values_named() -> None:
    with pytest.raises(ValueError, match="NIANBAO_ALLOWED_NETWORKS: '10.0.0.0/33'"):
        GuardConfig.from_settings(_project(NIANBAO_ALLOWED_NETWORKS=["10.0.0.0/33"]))
    with pytest.raises(ValueError, match="NIANBAO_REFRESH_DAYS must be >= 0"):
        IncrementalConfig.from_settings(_project(NIANBAO_REFRESH_DAYS=-1))
    with pytest.raises(ValueError, match="NIANBAO_REDIS_BUSY_TTL"):
        CoordinatorConfig.from_settings(_project(NIANBAO_REDIS_URL="redis://h/0", NIANBAO_REDIS_BUSY_TTL=0.5))
    with pytest.raises(ValueError, match="NIANBAO_REDIS_MIN_WORKERS must be >= 1"):
        CoordinatorConfig.from_settings(_project(NIANBAO_REDIS_URL="redis://h/0", NIANBAO_REDIS_MIN_WORKERS=0))


def test_allowed_networks_parse() -> None:
    import ipaddress

    cfg = GuardConfig.from_settings(_project(NIANBAO_ALLOWED_NETWORKS="10.20.0.0/16,fd00:1::/64"))
    assert cfg.listed(ipaddress.ip_address("10.20.3.4")) and cfg.listed(ipaddress.ip_address("fd00:1::5"))
    assert not cfg.listed(ipaddress.ip_address("10.21.0.1"))

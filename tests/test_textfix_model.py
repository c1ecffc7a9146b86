from __future__ import annotations

from crawler.textfix import charmodel
from crawler.textfix.model_build import main


def test_model_build_writes_both_tables(tmp_path):
    source = tmp_path / "report.txt"
    source.write_text("政府信息公開工作。\n政府信息公开工作。\n", encoding="utf-8")
    freq = tmp_path / "charfreq.tsv"
    bigrams = tmp_path / "bigrams.tsv"
    assert main([str(source), "-o", str(freq), "--bigrams", str(bigrams)]) == 0
    rows = {line.split("\t")[0]: line.split("\t")[1:] for line in freq.read_text(encoding="utf-8").splitlines()[1:]}
    assert rows["开"][0] == "2"  # 開 counted as its t2s form
    assert "開" not in rows
    pairs = bigrams.read_text(encoding="utf-8").splitlines()[1:]
    assert "政\t府\t2" in pairs
    assert "。\t\\n\t2" in pairs


def test_model_build_reports_unreadable_input(tmp_path, capsys):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("café".encode("latin-1"))
    assert main([str(bad), "-o", str(tmp_path / "f.tsv"), "--bigrams", str(tmp_path / "b.tsv")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_model_scores_prose_above_garbage():
    assert charmodel.text_score("政府信息公开工作年度报告") > charmodel.text_score("敝贫龋瑢峁畔妥稍") + 3
    assert charmodel.llr("┩") > 0 > charmodel.llr("政")
    assert charmodel.clean_logp("開") == charmodel.clean_logp("开")

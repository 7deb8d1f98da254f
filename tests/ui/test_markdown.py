"""Artifacts' markdown is rendered safely: the text is escaped, only known markup is added."""
from __future__ import annotations

from orchestrator.ui.markdown import render_markdown
from orchestrator.ui.related import ArtifactView, table_rows


def test_markup_of_its_own_is_drawn():
    html = render_markdown("# Title\n\nSome **bold** and *em* and `code`.\n\n- one\n- two\n\n"
                           "1. first\n\n```\nx < 1\n```\n\n[docs](https://example.org/a?b=1&c=2)")
    assert "<h1>Title</h1>" in html
    assert "<strong>bold</strong>" in html and "<em>em</em>" in html
    assert "<code>code</code>" in html
    assert "<ul><li>one</li><li>two</li></ul>" in html and "<ol><li>first</li></ol>" in html
    assert "<pre><code>x &lt; 1</code></pre>" in html
    assert 'href="https://example.org/a?b=1&amp;c=2"' in html


def test_html_in_the_text_stays_text():
    html = render_markdown('<script>alert(1)</script> <img src=x onerror="alert(2)">\n'
                           '**<b>x</b>** `<i>` [a](javascript:alert(3)) [b](" onmouseover="x)')
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html and "&lt;i&gt;" in html
    assert "javascript:" not in html.split("href=")[-1] if "href=" in html else True
    assert "href" not in html  # neither target is a safe one


def test_link_artifacts_link_only_safe_targets():
    assert 'href="https://a.example/x"' in ArtifactView("link", "https://a.example/x").markdown()
    assert "href" not in ArtifactView("link", "javascript:alert(1)").markdown()


def test_tables_come_as_rows_of_dicts_rows_of_lists_or_columns():
    assert table_rows([{"a": 1, "b": 2}, {"b": 3, "c": 4}]) == (
        ["a", "b", "c"], [[1, 2, ""], ["", 3, 4]])
    assert table_rows([[1, 2], [3, 4]]) == ([], [[1, 2], [3, 4]])
    assert table_rows({"a": [1, 2], "b": [3]}) == (["a", "b"], [[1, 3], [2, ""]])

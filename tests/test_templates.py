"""Template source rules Django does not enforce itself."""

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def test_it_keeps_every_short_comment_on_one_line():
    # Django's `{# … #}` ends at the line's end: one spread over two lines is printed on the page as text.
    spread = [f"{path.relative_to(TEMPLATES)}:{number}"
              for path in sorted(TEMPLATES.rglob("*.html"))
              for number, line in enumerate(path.read_text().splitlines(), 1)
              if line.count("{#") > line.count("#}")]
    assert sorted(TEMPLATES.rglob("*.html")), "no templates found"
    assert spread == []

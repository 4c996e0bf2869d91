"""The console's page frame: one stylesheet and a few lines of JavaScript (auto-refresh), no build step."""

from __future__ import annotations

from airflow_provider_flyte.sandbox.console.render import esc

_CSS = """
body{font-family:system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
header{background:#4a2a8a;color:#fff;padding:.6em 1.2em;display:flex;gap:1.5em;align-items:center}
header a{color:#fff;text-decoration:none}header .brand{font-weight:600}
main{padding:1em 1.5em;max-width:1200px}
h1{font-size:1.4em;margin:.2em 0 .6em}h2{font-size:1.1em;margin:1.4em 0 .4em}
table{border-collapse:collapse;margin:.3em 0;background:#fff}
th,td{border:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top;font-size:.92em}
th{background:#f0eef5}
.phase{padding:.1em .5em;border-radius:.8em;font-size:.85em;background:#ddd;white-space:nowrap}
.phase-succeeded{background:#c9f0d0}.phase-failed,.phase-timed_out{background:#f8c6c6}
.phase-running,.phase-queued,.phase-initializing{background:#cfe3fb}.phase-aborted,.phase-aborting{background:#eee}
.phase-waiting,.phase-paused{background:#fde9b8}
.error{color:#a00}.muted{color:#777}.notice{background:#fff3cd;padding:.5em 1em;border:1px solid #e6d28a}
.crumbs{color:#555;margin-bottom:.4em}.crumbs a{color:#4a2a8a}
pre{background:#f4f4f4;padding:.5em;max-height:24em;overflow:auto;white-space:pre-wrap;margin:.2em 0}
.timeline{position:relative;height:1em;background:#f0f0f0;min-width:200px}
.timeline span{position:absolute;top:0;bottom:0;background:#7a5cc7}
form.inline{display:inline}button{cursor:pointer}
.filters label{margin-right:1em}code.uri{color:#777;font-size:.8em}
"""

_JS = """
(function(){
  var every = document.body.getAttribute('data-refresh');
  if (!every) return;
  var box = document.getElementById('autorefresh');
  setInterval(function(){
    if (box && !box.checked) return;
    var a = document.activeElement;
    if (a && ['INPUT','TEXTAREA','SELECT','BUTTON'].indexOf(a.tagName) >= 0 && a.type !== 'checkbox') return;
    location.reload();
  }, Number(every) * 1000);
})();
"""


def page(title: str, body: str, *, crumbs: list[tuple[str, str]] | None = None, refresh: int = 0) -> bytes:
    """A full HTML document; ``refresh`` > 0 reloads it every that many seconds (auto-refresh checkbox)."""
    trail = ""
    if crumbs:
        parts = [f'<a href="{esc(href)}">{esc(text)}</a>' if href else esc(text) for text, href in crumbs]
        trail = f'<div class="crumbs">{" / ".join(parts)}</div>'
    toggle = (
        '<label class="muted"><input type="checkbox" id="autorefresh" checked> auto-refresh</label>'
        if refresh
        else ""
    )
    refresh_attr = f' data-refresh="{refresh}"' if refresh else ""
    document = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)} · Flyte sandbox console</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>{_CSS}</style></head>
<body{refresh_attr}><header><a class="brand" href="/console">Flyte sandbox console</a>{toggle}</header>
<main>{trail}<h1>{esc(title)}</h1>{body}</main><script>{_JS}</script></body></html>"""
    return document.encode()

// The style sheet and script inlined into every --report page. Kept apart from the code that
// writes the page so both read as what they are. The script draws only the timeline (from the
// JSON in #report-data) and adds #rendered when it ran to the end, which the tests look for.
#pragma once

#include <string_view>

namespace procpool {

inline constexpr std::string_view kReportCss = R"css(
:root { --ok: #2e7d32; --failed: #c62828; --timeout: #e65100; --crashed: #6a1b9a;
  --error: #8e2424; --skipped: #8a8a8a; --cancelled: #b0b0b0; --line: #ddd; --muted: #666; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  margin: 0 auto; padding: 16px 24px 48px; max-width: 1400px; color: #1d1d1d; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.muted, .meta { color: var(--muted); }
code, pre, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
.counts { display: flex; flex-wrap: wrap; gap: 8px; list-style: none; padding: 0; margin: 12px 0; }
.counts li { border: 1px solid var(--line); border-left: 5px solid var(--c, #999); border-radius: 4px;
  padding: 6px 12px; min-width: 96px; }
.counts li .n { display: block; font-size: 22px; font-weight: 600; }
.counts li.zero { opacity: .45; }
.st-ok { --c: var(--ok); } .st-failed { --c: var(--failed); } .st-timeout { --c: var(--timeout); }
.st-crashed { --c: var(--crashed); } .st-error { --c: var(--error); }
.st-skipped { --c: var(--skipped); } .st-cancelled { --c: var(--cancelled); } .st-flaky { --c: #b38f00; }
.badge { display: inline-block; min-width: 68px; text-align: center; border-radius: 3px; padding: 0 6px;
  color: #fff; background: var(--c, #999); font-size: 12px; font-weight: 600; }
.badge.flaky { background: #b38f00; min-width: 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 10px 3px 0; border-bottom: 1px solid #eee; vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.why { overflow-wrap: anywhere; }
a { color: #1151a8; }
#timeline-body { position: relative; margin-top: 6px; }
.axis { position: relative; height: 18px; margin-left: 190px; border-bottom: 1px solid #bbb; }
.tick { position: absolute; bottom: 2px; transform: translateX(-50%); font-size: 11px; color: var(--muted); white-space: nowrap; }
.tick:first-child { transform: none; }
.lane { display: flex; align-items: center; height: 20px; border-bottom: 1px solid #f0f0f0; }
.lane .label { width: 190px; flex: none; padding-right: 8px; font-size: 12px; overflow: hidden;
  text-overflow: ellipsis; white-space: nowrap; color: var(--muted); }
.track { position: relative; flex: 1; height: 16px; }
.bar { position: absolute; top: 1px; height: 14px; min-width: 2px; background: var(--c); border-radius: 2px;
  border-right: 1px solid #fff; opacity: .9; }
.bar:hover, .bar:focus { opacity: 1; outline: 2px solid #000; z-index: 1; }
#tip { position: fixed; z-index: 10; pointer-events: none; background: #222; color: #fff; padding: 6px 9px;
  border-radius: 4px; font-size: 12px; max-width: 480px; overflow-wrap: anywhere; white-space: pre-line; }
#tip b { font-size: 13px; }
.tools { margin: 6px 0 10px; }
.tools button { font: inherit; font-size: 12px; padding: 2px 10px; margin-right: 6px; }
details.job { border: 1px solid var(--line); border-left: 5px solid var(--c); border-radius: 4px; margin: 6px 0; }
details.job > summary { cursor: pointer; padding: 5px 10px; list-style-position: inside; }
details.job > summary .name { font-weight: 600; overflow-wrap: anywhere; }
details.job > summary .meta { font-size: 12.5px; margin-left: 6px; }
details.job[open] > summary { border-bottom: 1px solid var(--line); background: #fafafa; }
.body { padding: 6px 10px 10px; }
.cmd { margin: 0 0 6px; overflow-wrap: anywhere; }
pre.out { margin: 0; padding: 8px; background: #f6f8fa; border: 1px solid #e5e5e5; border-radius: 3px;
  white-space: pre-wrap; overflow-wrap: anywhere; max-height: 600px; overflow: auto; }
pre.out .e, .legend-err { color: #b00020; }
.note { margin: 6px 0 0; font-size: 12.5px; color: var(--muted); font-style: italic; }
:target { scroll-margin-top: 12px; }
)css";

inline constexpr std::string_view kReportJs = R"js(
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var body = document.getElementById('timeline-body');
  var tip = document.getElementById('tip');

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function fmt(ms) {
    if (ms === 0) return '0';
    if (ms < 1) return ms.toFixed(2) + ' ms';
    if (ms < 1000) return Math.round(ms) + ' ms';
    if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s';
    var m = Math.floor(ms / 60000);
    return m + ' min ' + Math.round((ms - m * 60000) / 1000) + ' s';
  }
  // A step of 1, 2 or 5 times a power of ten, so that about eight ticks fit.
  function niceStep(span) {
    var raw = span / 8, pow = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * pow >= raw) return steps[i] * pow;
    return 10 * pow;
  }

  // Time 0 is the batch start; the scale covers the batch or the last job's end if later.
  var end = Math.max(data.wall_ms, 0.001);
  data.jobs.forEach(function (j) { end = Math.max(end, j[4] + j[5]); });

  if (data.jobs.length === 0) {
    body.appendChild(el('p', 'muted', 'No job ran, so there is nothing to draw.'));
  } else {
    var axis = el('div', 'axis');
    var step = niceStep(end);
    for (var t = 0; t <= end + step / 1000; t += step) {
      var tick = el('span', 'tick', fmt(t));
      tick.style.left = (t / end * 100) + '%';
      axis.appendChild(tick);
    }
    body.appendChild(axis);
  }
  var tracks = data.lanes.map(function (name) {
    var lane = el('div', 'lane');
    var label = el('div', 'label', name);
    label.title = name;
    var track = el('div', 'track');
    lane.appendChild(label);
    lane.appendChild(track);
    body.appendChild(lane);
    return track;
  });
  data.jobs.forEach(function (j, i) {
    var bar = el('a', 'bar st-' + j[2]);
    bar.href = '#job-' + j[0];
    bar.style.left = (j[4] / end * 100) + '%';
    bar.style.width = (j[5] / end * 100) + '%';
    bar.dataset.i = i;
    bar.setAttribute('aria-label', j[1] + ': ' + j[2] + ', ' + fmt(j[5]));
    tracks[j[3]].appendChild(bar);
  });

  function show(bar, x, y) {
    var j = data.jobs[bar.dataset.i];
    tip.textContent = '';
    tip.appendChild(el('b', '', j[1]));
    tip.appendChild(document.createTextNode('\n' + j[2] + (j[6] ? ' (' + j[6] + ')' : '') +
        '\n' + fmt(j[5]) + ', from +' + fmt(j[4]) + '\n' + data.lanes[j[3]]));
    tip.hidden = false;
    var w = tip.offsetWidth, h = tip.offsetHeight;
    tip.style.left = Math.max(4, Math.min(x + 14, window.innerWidth - w - 8)) + 'px';
    tip.style.top = (y + 16 + h > window.innerHeight ? y - h - 10 : y + 16) + 'px';
  }
  body.addEventListener('mousemove', function (e) {
    var bar = e.target.closest('.bar');
    if (bar) show(bar, e.clientX, e.clientY); else tip.hidden = true;
  });
  body.addEventListener('mouseleave', function () { tip.hidden = true; });
  body.addEventListener('focusin', function (e) {
    var bar = e.target.closest('.bar');
    if (!bar) return;
    var r = bar.getBoundingClientRect();
    show(bar, r.left, r.bottom);
  });
  body.addEventListener('focusout', function () { tip.hidden = true; });

  // Following a link to a job (from the timeline or a table) opens its output.
  function openTarget() {
    var id;
    try {
      id = decodeURIComponent(location.hash.slice(1));
    } catch (e) {
      return;  // a hash typed by hand that is not valid percent-encoding
    }
    var d = id && document.getElementById(id);
    if (d && d.tagName === 'DETAILS') d.open = true;
  }
  window.addEventListener('hashchange', openTarget);
  openTarget();
  function setAll(open) {
    document.querySelectorAll('details.job').forEach(function (d) { d.open = open; });
  }
  document.getElementById('expand-all').addEventListener('click', function () { setAll(true); });
  document.getElementById('collapse-all').addEventListener('click', function () { setAll(false); });
  document.querySelector('.tools').hidden = false;

  var done = el('div');
  done.id = 'rendered';
  done.hidden = true;
  done.dataset.bars = String(data.jobs.length);
  document.body.appendChild(done);
})();
)js";

}  // namespace procpool

// The style sheet and script inlined into every --report page. Kept apart from the code that
// writes the page so both read as what they are.
//
// The script reads the jobs from #report-data (one array per field, in page order) and draws
// the timeline on a canvas and the job list as a virtualised list: rows of fixed height in a
// container as tall as all of them, only those on screen (and a few around) in the document.
// An expanded row is measured once drawn; the rows after it move down by what it adds. An
// output is read from #report-outputs (at its offset) only when its row is expanded and on
// screen, and built with DOM calls and textContent only: terminal colours (SGR) become spans
// with classes or CSSOM colours, every other escape sequence and control character a visible
// symbol. Nothing from a job is ever parsed as HTML.
//
// The location hash links to jobs and sets the list up: #job-ID opens one job;
// #q=TEXT&status=failed,timeout&open=ID,ID filters by name and status and opens jobs. When it
// has run, the script adds #rendered (with the counts, and data-ms: milliseconds from the start
// of the page's loading to the first screen, its layout done) which the tests look for.
#pragma once

#include <string_view>

namespace procpool {

inline constexpr std::string_view kReportCss = R"css(
:root { color-scheme: light dark;
  --bg: #fff; --fg: #1d1d1d; --muted: #666; --line: #ddd; --line2: #eee; --head-bg: #fafafa;
  --out-bg: #f6f8fa; --out-line: #e5e5e5; --link: #1151a8; --err: #b00020; --tip-bg: #222;
  --tip-fg: #fff; --focus: #000; --badge-fg: #fff; --cut: #fff3cd; --cut-fg: #5c4400;
  --ok: #2e7d32; --failed: #c62828; --timeout: #e65100; --crashed: #6a1b9a; --error: #8e2424;
  --skipped: #8a8a8a; --cancelled: #b0b0b0; --flaky: #b38f00;
  /* terminal colours 0-15 on the light output background (GitHub's light terminal) */
  --a0: #24292f; --a1: #cf222e; --a2: #116329; --a3: #4d2d00; --a4: #0969da; --a5: #8250df;
  --a6: #1b7c83; --a7: #6e7781; --a8: #57606a; --a9: #a40e26; --a10: #1a7f37; --a11: #633c01;
  --a12: #218bff; --a13: #a475f9; --a14: #3192aa; --a15: #8c959f; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --line: #30363d; --line2: #21262d;
    --head-bg: #161b22; --out-bg: #161b22; --out-line: #30363d; --link: #58a6ff; --err: #ff7b72;
    --tip-bg: #30363d; --tip-fg: #f0f6fc; --focus: #fff; --badge-fg: #0d1117; --cut: #3b2e00;
    --cut-fg: #f2cc60;
    --ok: #3fb950; --failed: #f85149; --timeout: #f0883e; --crashed: #bc8cff; --error: #ff7b72;
    --skipped: #8b949e; --cancelled: #6e7681; --flaky: #d29922;
    /* ... and on the dark one (GitHub's dark terminal) */
    --a0: #6e7681; --a1: #ff7b72; --a2: #3fb950; --a3: #d29922; --a4: #58a6ff; --a5: #bc8cff;
    --a6: #39c5cf; --a7: #b1bac4; --a8: #8b949e; --a9: #ffa198; --a10: #56d364; --a11: #e3b341;
    --a12: #79c0ff; --a13: #d2a8ff; --a14: #56d4dd; --a15: #f0f6fc; }
}
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  margin: 0 auto; padding: 16px 24px 48px; max-width: 1400px; color: var(--fg); background: var(--bg); }
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
.st-skipped { --c: var(--skipped); } .st-cancelled { --c: var(--cancelled); } .st-flaky { --c: var(--flaky); }
.badge { display: inline-block; flex: none; min-width: 68px; text-align: center; border-radius: 3px;
  padding: 0 6px; color: var(--badge-fg); background: var(--c, #999); font-size: 12px; font-weight: 600;
  line-height: 18px; }
.badge.flaky { background: var(--flaky); min-width: 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 10px 3px 0; border-bottom: 1px solid var(--line2); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.why { overflow-wrap: anywhere; }
a { color: var(--link); }
#timeline-body { position: relative; margin-top: 6px; }
.axis { position: relative; height: 18px; margin-left: 190px; border-bottom: 1px solid var(--line); }
.tick { position: absolute; bottom: 2px; transform: translateX(-50%); font-size: 11px; color: var(--muted); white-space: nowrap; }
.tick:first-child { transform: none; }
.lanes { display: flex; }
.labels { width: 190px; flex: none; }
.label { padding-right: 8px; font-size: 12px; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; color: var(--muted); }
.track { flex: 1; min-width: 0; }
.track canvas { display: block; width: 100%; cursor: pointer; }
#tip { position: fixed; z-index: 10; pointer-events: none; background: var(--tip-bg); color: var(--tip-fg);
  padding: 6px 9px; border-radius: 4px; font-size: 12px; max-width: 480px; overflow-wrap: anywhere;
  white-space: pre-line; }
#tip b { font-size: 13px; }
.tools { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; margin: 6px 0 10px;
  position: sticky; top: 0; z-index: 2; background: var(--bg); padding: 6px 0; }
.tools input { font: inherit; padding: 2px 8px; min-width: 220px; color: var(--fg); background: var(--bg);
  border: 1px solid var(--line); border-radius: 3px; }
.tools button { font: inherit; font-size: 12px; padding: 2px 10px; color: var(--fg); background: var(--head-bg);
  border: 1px solid var(--line); border-radius: 3px; cursor: pointer; }
.tools .chip { border-left: 4px solid var(--c); }
.tools .chip[aria-pressed="true"] { background: var(--c); color: var(--badge-fg); }
.tools .chip.zero { opacity: .5; }
.tools .chip .n { font-weight: 600; margin-left: 4px; }
#shown { color: var(--muted); font-size: 12.5px; margin: 0 6px; }
#list { position: relative; }
.row { position: absolute; left: 0; right: 0; border: 1px solid var(--line); border-left: 5px solid var(--c);
  border-radius: 4px; background: var(--bg); }
.row > .head { display: flex; align-items: center; gap: 6px; width: 100%; height: 24px; padding: 0 10px;
  font: inherit; color: inherit; background: none; border: 0; text-align: left; cursor: pointer;
  white-space: nowrap; overflow: hidden; }
.row > .head::before { content: "▸"; color: var(--muted); flex: none; }
.row.open > .head::before { content: "▾"; }
.row.open > .head { border-bottom: 1px solid var(--line); background: var(--head-bg); }
.row > .head:focus-visible { outline: 2px solid var(--focus); outline-offset: -2px; }
.row .name { font-weight: 600; overflow: hidden; text-overflow: ellipsis; flex: 0 1 auto; min-width: 0; }
.row .meta { font-size: 12.5px; overflow: hidden; text-overflow: ellipsis; flex: 1 1 0; min-width: 0; }
.body { padding: 6px 10px 10px; }
.cmd { margin: 0 0 6px; overflow-wrap: anywhere; max-height: 6em; overflow: auto; }
pre.out { margin: 6px 0 0; padding: 8px; color: var(--fg); background: var(--out-bg); border: 1px solid var(--out-line);
  border-radius: 3px; white-space: pre-wrap; overflow-wrap: anywhere; max-height: 600px; overflow: auto; }
pre.out .e, .legend-err { color: var(--err); }
pre.out .cut { display: block; margin: 6px 0; padding: 2px 8px; background: var(--cut); color: var(--cut-fg);
  font-style: italic; font-family: system-ui, sans-serif; }
.f0 { color: var(--a0); } .f1 { color: var(--a1); } .f2 { color: var(--a2); } .f3 { color: var(--a3); }
.f4 { color: var(--a4); } .f5 { color: var(--a5); } .f6 { color: var(--a6); } .f7 { color: var(--a7); }
.f8 { color: var(--a8); } .f9 { color: var(--a9); } .f10 { color: var(--a10); } .f11 { color: var(--a11); }
.f12 { color: var(--a12); } .f13 { color: var(--a13); } .f14 { color: var(--a14); } .f15 { color: var(--a15); }
.b0 { background: var(--a0); } .b1 { background: var(--a1); } .b2 { background: var(--a2); }
.b3 { background: var(--a3); } .b4 { background: var(--a4); } .b5 { background: var(--a5); }
.b6 { background: var(--a6); } .b7 { background: var(--a7); } .b8 { background: var(--a8); }
.b9 { background: var(--a9); } .b10 { background: var(--a10); } .b11 { background: var(--a11); }
.b12 { background: var(--a12); } .b13 { background: var(--a13); } .b14 { background: var(--a14); }
.b15 { background: var(--a15); }
.fi { color: var(--out-bg); } .bi { background: var(--fg); }
.sb { font-weight: 700; } .sd { opacity: .7; } .si { font-style: italic; }
.su { text-decoration: underline; } .ss { text-decoration: line-through; }
.su.ss { text-decoration-line: underline line-through; }
.note { margin: 6px 0 0; font-size: 12.5px; color: var(--muted); font-style: italic; }
)css";

inline constexpr std::string_view kReportJs = R"js(
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('report-data').textContent);
  var outputsText = null;  // #report-outputs' text, read when the first output is shown
  var N = D.id.length;
  var ROW = 28;            // a collapsed row: 26px (.row > .head and its borders) and a 2px gap
  var GAP = 2;
  var OPEN_GUESS = 160;    // height of an expanded row not measured yet
  var MARGIN = 400;        // rows drawn beyond the screen, in pixels, each way

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
  function bytesText(n) {
    var s = n + ' bytes';
    if (n >= 1048576) s += ' (' + (n / 1048576).toFixed(1) + ' MiB)';
    else if (n >= 1024) s += ' (' + (n / 1024).toFixed(1) + ' KiB)';
    return s;
  }
  // A step of 1, 2 or 5 times a power of ten, so that about eight ticks fit.
  function niceStep(span) {
    var raw = span / 8, pow = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * pow >= raw) return steps[i] * pow;
    return 10 * pow;
  }
  var byId = null;  // job id -> page index, made when a link needs it
  function indexOfId(id) {
    if (!byId) {
      byId = new Map();
      for (var i = 0; i < N; i++) byId.set(D.id[i], i);
    }
    var i = byId.get(Number(id));
    return i === undefined ? -1 : i;
  }

  // ---- the timeline: one canvas, a row per lane, a bar per job that ran ----
  var tl = document.getElementById('timeline-body');
  var tip = document.getElementById('tip');
  var ran = D.by_start;  // page indices, by start time
  var end = Math.max(D.wall_ms, 0.001);
  for (var r = 0; r < ran.length; r++) end = Math.max(end, D.start[ran[r]] + D.dur[ran[r]]);
  var laneJobs = D.lanes.map(function () { return []; });  // each lane's jobs, by start
  for (r = 0; r < ran.length; r++) laneJobs[D.lane[ran[r]]].push(ran[r]);
  var LANE = D.lanes.length <= 100 ? 20 : Math.max(3, Math.floor(2000 / D.lanes.length));
  var canvas = null, track = null;
  if (ran.length === 0) {
    tl.appendChild(el('p', 'muted', 'No job ran, so there is nothing to draw.'));
  } else {
    var axis = el('div', 'axis');
    var step = niceStep(end);
    for (var t = 0; t <= end + step / 1000; t += step) {
      var tick = el('span', 'tick', fmt(t));
      tick.style.left = (t / end * 100) + '%';
      axis.appendChild(tick);
    }
    tl.appendChild(axis);
    var lanesBox = el('div', 'lanes'), labels = el('div', 'labels');
    track = el('div', 'track');
    D.lanes.forEach(function (name) {
      var label = el('div', 'label', LANE >= 14 ? name : '');
      label.title = name;
      label.style.height = LANE + 'px';
      label.style.lineHeight = LANE + 'px';
      labels.appendChild(label);
    });
    canvas = el('canvas');
    canvas.style.height = (D.lanes.length * LANE) + 'px';
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', 'timeline of ' + ran.length + ' jobs on ' +
        D.lanes.length + ' rows; the table above and the list below hold the same jobs');
    track.appendChild(canvas);
    lanesBox.appendChild(labels);
    lanesBox.appendChild(track);
    tl.appendChild(lanesBox);
  }
  function drawTimeline() {
    if (!canvas) return;
    var w = track.clientWidth, h = D.lanes.length * LANE, dpr = window.devicePixelRatio || 1;
    canvas.width = Math.max(1, Math.round(w * dpr));
    canvas.height = Math.max(1, Math.round(h * dpr));
    var ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    var css = getComputedStyle(document.documentElement);
    var colours = D.statuses.map(function (s) { return css.getPropertyValue('--' + s).trim(); });
    if (LANE >= 6) {
      ctx.fillStyle = css.getPropertyValue('--line2').trim();
      for (var l = 1; l <= D.lanes.length; l++) ctx.fillRect(0, l * LANE - 1, w, 1);
    }
    var pad = LANE >= 6 ? 2 : 0, last = -1;
    for (l = 0; l < laneJobs.length; l++) {
      var jobs = laneJobs[l];
      for (var k = 0; k < jobs.length; k++) {
        var i = jobs[k], s = D.status[i];
        if (s !== last) { ctx.fillStyle = colours[s]; last = s; }
        ctx.fillRect(D.start[i] / end * w, l * LANE + pad, Math.max(1.5, D.dur[i] / end * w),
                     LANE - 2 * pad - (LANE >= 6 ? 1 : 0));
      }
    }
  }
  // The job under a point of the canvas, or -1: the lane's last job starting before it, if it
  // has not ended yet (with 3 pixels to spare, for the thin ones).
  function jobAt(x, y) {
    var lane = Math.floor(y / LANE), jobs = laneJobs[lane];
    if (!jobs || !jobs.length) return -1;
    var w = track.clientWidth, t = x / w * end, slack = 3 / w * end;
    var lo = 0, hi = jobs.length - 1, found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (D.start[jobs[mid]] <= t + slack) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    if (found < 0) return -1;
    var i = jobs[found];
    return D.start[i] + D.dur[i] >= t - slack ? i : -1;
  }
  function showTip(i, x, y) {
    tip.textContent = '';
    tip.appendChild(el('b', '', D.name[i]));
    tip.appendChild(document.createTextNode('\n' + D.statuses[D.status[i]] + ': ' + D.meta[i] +
        '\nfrom +' + fmt(D.start[i]) + ' on ' + D.lanes[D.lane[i]]));
    tip.hidden = false;
    var w = tip.offsetWidth, h = tip.offsetHeight;
    tip.style.left = Math.max(4, Math.min(x + 14, window.innerWidth - w - 8)) + 'px';
    tip.style.top = (y + 16 + h > window.innerHeight ? y - h - 10 : y + 16) + 'px';
  }
  if (canvas) {
    canvas.addEventListener('mousemove', function (e) {
      var box = canvas.getBoundingClientRect();
      var i = jobAt(e.clientX - box.left, e.clientY - box.top);
      if (i >= 0) showTip(i, e.clientX, e.clientY); else tip.hidden = true;
    });
    canvas.addEventListener('mouseleave', function () { tip.hidden = true; });
    canvas.addEventListener('click', function (e) {
      var box = canvas.getBoundingClientRect();
      var i = jobAt(e.clientX - box.left, e.clientY - box.top);
      if (i >= 0) location.hash = 'job-' + D.id[i];
    });
  }

  // ---- job output: SGR colours as spans, everything else visible, nothing interpreted ----
  var SGR = /\x1b\[([0-9;:]*)m/g;
  var CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/g;  // tab and newline stay; CR is a newline first
  function visible(text) {
    return text.replace(/\r\n?/g, '\n').replace(CONTROL, function (c) {
      return c === '\x7f' ? '\u2421' : String.fromCharCode(0x2400 + c.charCodeAt(0));
    });
  }
  function Style() { this.reset(); }
  Style.prototype.reset = function () {
    this.fg = null; this.bg = null;  // null (default), 0-15 (palette class) or 'rgb(...)'
    this.bold = this.dim = this.italic = this.under = this.strike = this.inverse = false;
  };
  Style.prototype.plain = function () {
    return this.fg === null && this.bg === null && !this.bold && !this.dim && !this.italic &&
        !this.under && !this.strike && !this.inverse;
  };
  function byte(v) {
    var n = Number(v);
    return v !== '' && v !== undefined && Number.isInteger(n) && n >= 0 && n <= 255 ? n : -1;
  }
  var LEVELS = [0, 95, 135, 175, 215, 255];
  function colour256(v) {
    var n = byte(v);
    if (n < 0) return undefined;
    if (n < 16) return n;
    if (n >= 232) { var g = 8 + 10 * (n - 232); return 'rgb(' + g + ', ' + g + ', ' + g + ')'; }
    n -= 16;
    return 'rgb(' + LEVELS[Math.floor(n / 36)] + ', ' + LEVELS[Math.floor(n / 6) % 6] + ', ' +
        LEVELS[n % 6] + ')';
  }
  function luma(rgb) {  // of 'rgb(R, G, B)', 0-255
    var c = rgb.slice(4, -1).split(', ').map(Number);
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
  }
  function colourRgb(r, g, b) {
    r = byte(r); g = byte(g); b = byte(b);
    return r < 0 || g < 0 || b < 0 ? undefined : 'rgb(' + r + ', ' + g + ', ' + b + ')';
  }
  // Applies one SGR sequence's parameters ("1;31", "38;5;208", "38:2::255:0:0", "").
  function applySgr(st, params) {
    var p = params.split(';');
    for (var k = 0; k < p.length; k++) {
      var sub = p[k].split(':'), n = sub[0] === '' ? 0 : Number(sub[0]);
      if (n === 38 || n === 48) {
        var c;
        if (sub.length > 1) {  // 38:5:N, 38:2:R:G:B or 38:2:SPACE:R:G:B
          if (sub[1] === '5') c = colour256(sub[2]);
          else if (sub[1] === '2') c = sub.length >= 6 ? colourRgb(sub[3], sub[4], sub[5])
                                                       : colourRgb(sub[2], sub[3], sub[4]);
        } else if (p[k + 1] === '5') {
          c = colour256(p[k + 2]);
          k += 2;
        } else if (p[k + 1] === '2') {
          c = colourRgb(p[k + 2], p[k + 3], p[k + 4]);
          k += 4;
        }
        if (c !== undefined) { if (n === 38) st.fg = c; else st.bg = c; }
        continue;
      }
      if (n === 0) st.reset();
      else if (n === 1) st.bold = true;
      else if (n === 2) st.dim = true;
      else if (n === 3) st.italic = true;
      else if (n === 4 || n === 21) st.under = true;
      else if (n === 7) st.inverse = true;
      else if (n === 9) st.strike = true;
      else if (n === 22) st.bold = st.dim = false;
      else if (n === 23) st.italic = false;
      else if (n === 24) st.under = false;
      else if (n === 27) st.inverse = false;
      else if (n === 29) st.strike = false;
      else if (n >= 30 && n <= 37) st.fg = n - 30;
      else if (n === 39) st.fg = null;
      else if (n >= 40 && n <= 47) st.bg = n - 40;
      else if (n === 49) st.bg = null;
      else if (n >= 90 && n <= 97) st.fg = n - 90 + 8;
      else if (n >= 100 && n <= 107) st.bg = n - 100 + 8;
      // others (blink, hidden, fonts, ...) are left alone: the text shows as it is
    }
  }
  function styled(st, text) {
    if (st.plain()) return document.createTextNode(text);
    var span = el('span', '', text), cls = [];
    var fg = st.fg, bg = st.bg;
    if (st.inverse) {
      fg = st.bg === null ? 'i' : st.bg;
      bg = st.fg === null ? 'i' : st.fg;
    }
    if (fg === null && bg !== null && bg !== 'i') {
      // Default text on a coloured background (" FAIL " badges): the page's background colour
      // reads on the palette's, black or white on a chosen one.
      fg = typeof bg === 'number' ? 'i' : (luma(bg) > 140 ? 'rgb(0, 0, 0)' : 'rgb(255, 255, 255)');
    }
    if (fg === 'i') cls.push('fi');
    else if (typeof fg === 'number') cls.push('f' + fg);
    else if (fg !== null) span.style.color = fg;
    if (bg === 'i') cls.push('bi');
    else if (typeof bg === 'number') cls.push('b' + bg);
    else if (bg !== null) span.style.backgroundColor = bg;
    if (st.bold) cls.push('sb');
    if (st.dim) cls.push('sd');
    if (st.italic) cls.push('si');
    if (st.under) cls.push('su');
    if (st.strike) cls.push('ss');
    if (cls.length) span.className = cls.join(' ');
    return span;
  }
  function addText(to, st, text) {
    SGR.lastIndex = 0;
    var from = 0, m;
    while ((m = SGR.exec(text)) !== null) {
      if (m.index > from) to.appendChild(styled(st, visible(text.slice(from, m.index))));
      applySgr(st, m[1]);
      from = SGR.lastIndex;
    }
    if (from < text.length) to.appendChild(styled(st, visible(text.slice(from))));
  }
  // [[1, "stdout"], [2, "stderr"], [0, BYTES_CUT], ...] as the content of a <pre>.
  function renderOutput(parts) {
    var pre = el('pre', 'out');
    var styles = {1: new Style(), 2: new Style()};  // each stream its own terminal state
    parts.forEach(function (part) {
      if (part[0] === 0) {
        pre.appendChild(el('span', 'cut', '… ' + bytesText(part[1]) + ' cut here …'));
        styles[1].reset();  // what the cut part set is unknown
        styles[2].reset();
        return;
      }
      var to = pre;
      if (part[0] === 2) to = pre.appendChild(el('span', 'e'));
      addText(to, styles[part[0]], part[1]);
    });
    return pre;
  }
  function sizes(i) {
    return 'stdout ' + bytesText(D.out[i]) + ', stderr ' + bytesText(D.err[i]);
  }
  function body(i) {
    var b = el('div', 'body');
    var cmd = el('p', 'cmd');
    cmd.appendChild(el('code', '', D.cmd[i]));
    b.appendChild(cmd);
    var at = D.at[i];
    if (at === -1) {
      b.appendChild(el('p', 'note', 'no output'));
    } else if (at === -2) {
      b.appendChild(el('p', 'note', 'output not kept (' + sizes(i) + '): ' + D.spill_error));
    } else if (at === -3) {
      b.appendChild(el('p', 'note', 'output not shown: ' + sizes(i) + '; this page already ' +
          'holds ' + bytesText(D.total_bytes) + ' of output, its limit.'));
    } else {
      b.appendChild(el('p', 'note', sizes(i)));
      if (outputsText === null) outputsText = document.getElementById('report-outputs').textContent;
      b.appendChild(renderOutput(JSON.parse(outputsText.substr(at, D.len[i]))));
    }
    return b;
  }

  // ---- the job list: filters over plain arrays, rows only for what is on screen ----
  var list = document.getElementById('list');
  var search = document.getElementById('search');
  var shown = document.getElementById('shown');
  var lower = new Array(N);
  for (var i = 0; i < N; i++) lower[i] = D.name[i].toLowerCase();
  var query = '', selected = new Set();  // status indices; none: all
  var view = [];                          // page indices shown, ascending
  var open = new Set(), heights = new Map();  // expanded rows, their measured heights
  var opened = [];                        // [view index, height beyond ROW] of expanded rows
  var total = 0;                          // the list's height
  var rows = new Map();                   // page index -> its row in the document

  var chips = D.statuses.map(function (name, s) {
    var b = el('button', 'chip st-' + name, name);
    b.type = 'button';
    b.dataset.status = name;
    b.setAttribute('aria-pressed', 'false');
    var n = el('span', 'n');
    b.appendChild(n);
    b.addEventListener('click', function () {
      if (selected.has(s)) selected.delete(s); else selected.add(s);
      filter();
    });
    document.getElementById('chips').appendChild(b);
    return {button: b, count: n};
  });

  var filterMs = 0;  // how long the last filter took, with drawing its rows
  function filter() {
    var started = performance.now();
    var q = query.toLowerCase(), counts = D.statuses.map(function () { return 0; });
    var all = selected.size === 0, v = [];
    for (var i = 0; i < N; i++) {
      if (q && lower[i].indexOf(q) < 0) continue;
      var s = D.status[i];
      counts[s]++;
      if (all || selected.has(s)) v.push(i);
    }
    view = v;
    chips.forEach(function (c, s) {
      c.count.textContent = String(counts[s]);
      c.button.setAttribute('aria-pressed', selected.has(s) ? 'true' : 'false');
      c.button.classList.toggle('zero', counts[s] === 0);
    });
    shown.textContent = (view.length === N ? '' : view.length + ' of ') + N +
        (N === 1 ? ' job' : ' jobs');
    layout();
    filterMs = performance.now() - started;
    if (marker) marker.dataset.filterMs = filterMs.toFixed(1);
  }
  function viewIndex(i) {  // binary search: view is ascending
    var lo = 0, hi = view.length - 1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (view[mid] === i) return mid;
      if (view[mid] < i) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
  }
  function extra(i) {
    var h = heights.get(i);
    return (h === undefined ? OPEN_GUESS : h) - ROW;
  }
  function layout() {
    opened = [];
    var more = 0;
    open.forEach(function (i) {
      var k = viewIndex(i);
      if (k >= 0) opened.push([k, extra(i)]);
    });
    opened.sort(function (a, b) { return a[0] - b[0]; });
    opened.forEach(function (o) { more += o[1]; });
    total = view.length * ROW + more;
    list.style.height = total + 'px';
    draw();
  }
  function top(k) {  // of the row at view index k
    var y = k * ROW;
    for (var j = 0; j < opened.length && opened[j][0] < k; j++) y += opened[j][1];
    return y;
  }
  function rowAt(y) {  // view index of the row at height y
    var before = 0;
    for (var j = 0; j < opened.length; j++) {
      var k = opened[j][0], t = k * ROW + before;
      if (y < t) break;
      if (y < t + ROW + opened[j][1]) return k;
      before += opened[j][1];
    }
    return Math.min(view.length - 1, Math.max(0, Math.floor((y - before) / ROW)));
  }
  function makeRow(i) {
    var row = el('div', 'row st-' + D.statuses[D.status[i]]);
    row.dataset.id = D.id[i];
    var head = el('button', 'head');
    head.type = 'button';
    head.appendChild(el('span', 'badge st-' + D.statuses[D.status[i]], D.statuses[D.status[i]]));
    if (D.flaky[i]) head.appendChild(el('span', 'badge flaky', 'flaky'));
    head.appendChild(el('span', 'name', D.name[i]));
    head.appendChild(el('span', 'meta', D.meta[i]));
    head.setAttribute('aria-expanded', open.has(i) ? 'true' : 'false');
    head.addEventListener('click', function () { toggle(i); });
    row.appendChild(head);
    if (open.has(i)) {
      row.classList.add('open');
      row.appendChild(body(i));
    }
    return row;
  }
  function toggle(i) {
    if (open.has(i)) open.delete(i); else open.add(i);
    var row = rows.get(i);
    if (row) {  // made again, open or closed
      row.remove();
      rows.delete(i);
    }
    layout();
    row = rows.get(i);
    if (row) row.firstChild.focus({preventScroll: true});
  }
  var drawing = 0;
  function draw() {
    var box = list.getBoundingClientRect();
    var from = -box.top - MARGIN, to = -box.top + window.innerHeight + MARGIN;
    var keep = new Set();
    if (view.length && to > 0 && from < total) {
      var first = rowAt(Math.max(0, from)), last = rowAt(Math.min(total - 1, to));
      var y = top(first), prev = null;
      for (var k = first; k <= last; k++) {
        var i = view[k], row = rows.get(i);
        if (!row) {
          row = makeRow(i);
          rows.set(i, row);
        }
        row.style.top = y + 'px';
        if (row.parentNode !== list || row.previousSibling !== prev) {
          list.insertBefore(row, prev ? prev.nextSibling : list.firstChild);
        }
        prev = row;
        keep.add(i);
        y += open.has(i) ? ROW + extra(i) : ROW;
      }
    }
    rows.forEach(function (row, i) {
      if (!keep.has(i)) { row.remove(); rows.delete(i); }
    });
    // Expanded rows are as tall as they turned out: the rows after them move.
    var changed = false;
    keep.forEach(function (i) {
      if (!open.has(i)) return;
      var h = rows.get(i).offsetHeight + GAP;
      if (heights.get(i) !== h) { heights.set(i, h); changed = true; }
    });
    if (changed && drawing < 3) {
      drawing++;
      layout();
      drawing--;
    }
    if (marker) {
      marker.dataset.shown = String(view.length);
      marker.dataset.rows = String(rows.size);
    }
  }
  var pending = false;
  function later() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; draw(); });
  }
  window.addEventListener('scroll', later, {passive: true});
  window.addEventListener('resize', function () { later(); drawTimeline(); });
  if (window.matchMedia) {
    var dark = window.matchMedia('(prefers-color-scheme: dark)');
    if (dark.addEventListener) dark.addEventListener('change', drawTimeline);
  }
  search.addEventListener('input', function () { query = search.value; filter(); });
  document.getElementById('expand-all').addEventListener('click', function () {
    view.forEach(function (i) { open.add(i); });
    rows.forEach(function (row) { row.remove(); });
    rows.clear();
    layout();
  });
  document.getElementById('collapse-all').addEventListener('click', function () {
    open.clear();
    rows.forEach(function (row) { row.remove(); });
    rows.clear();
    layout();
  });

  // The hash: #job-ID, or #q=TEXT&status=NAME,NAME&open=ID,ID.
  function fromHash() {
    var hash = location.hash.slice(1), ids = [];
    if (/^job-\d+$/.test(hash)) {
      ids = [hash.slice(4)];
    } else if (hash.indexOf('=') >= 0) {
      var p = new URLSearchParams(hash);
      if (p.has('q')) query = search.value = p.get('q');
      if (p.has('status')) {
        selected.clear();
        p.get('status').split(',').forEach(function (name) {
          var s = D.statuses.indexOf(name);
          if (s >= 0) selected.add(s);
        });
      }
      if (p.has('open')) ids = p.get('open').split(',');
    } else {
      return false;
    }
    var target = -1;
    ids.forEach(function (id) {
      var i = indexOfId(id);
      if (i < 0) return;
      open.add(i);
      if (target < 0) target = i;
    });
    rows.forEach(function (row) { row.remove(); });
    rows.clear();
    filter();
    if (target >= 0 && viewIndex(target) < 0) {  // a job the filters hide: show them all
      query = search.value = '';
      selected.clear();
      filter();
    }
    scrollTo(target);
    return true;
  }
  // Scrolls the list to the row of page index i (to its start when -1). The rows above it may
  // turn out taller or shorter than guessed once drawn, so this goes again until it stays.
  function scrollTo(i) {
    for (var tries = 0; tries < 5; tries++) {
      var y = i >= 0 ? top(viewIndex(i)) : 0;
      window.scrollTo(0, window.scrollY + list.getBoundingClientRect().top + y -
          document.querySelector('.tools').offsetHeight - 8);
      draw();
      if ((i >= 0 ? top(viewIndex(i)) : 0) === y) return;
    }
  }

  for (i = 0; i < N && i < D.open; i++) open.add(i);
  document.querySelector('.tools').hidden = false;
  var marker = null;
  drawTimeline();
  if (!fromHash()) filter();
  window.addEventListener('hashchange', fromHash);

  marker = el('div');
  marker.id = 'rendered';
  marker.hidden = true;
  marker.dataset.bars = String(ran.length);
  marker.dataset.jobs = String(N);
  marker.dataset.shown = String(view.length);
  marker.dataset.rows = String(rows.size);
  marker.dataset.filterMs = filterMs.toFixed(1);
  document.body.appendChild(marker);
  document.body.offsetHeight;  // the first screen's layout, in the time below
  marker.dataset.ms = String(Math.round(performance.now()));
})();
)js";

}  // namespace procpool

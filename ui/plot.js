// SPDX-License-Identifier: MIT
// plot.js - the page's two kinds of chart, drawn on a canvas: a strip
// chart of the live telemetry and grouped bars/lines over a course's
// sessions. Small enough not to need a charting library, and nothing to
// fetch at run time.
"use strict";

var MsPlot = (function () {
    var COLORS = {
        freq: "#0066cc", target: "#8a8d90", amp: "#f0ab00",
        before: "#c9190b", after: "#3e8635",
        sites: ["#0066cc", "#f0ab00", "#3e8635", "#6753ac", "#009596", "#ec7a08", "#8a8d90", "#c9190b"]
    };

    // A canvas sized to its box in device pixels; returns its 2D context
    // in CSS pixels, and the box.
    function prepare(canvas) {
        var r = canvas.getBoundingClientRect();
        var dpr = window.devicePixelRatio || 1;
        var w = Math.max(1, Math.round(r.width)), h = Math.max(1, Math.round(r.height));
        if (canvas.width !== w * dpr || canvas.height !== h * dpr) {
            canvas.width = w * dpr;
            canvas.height = h * dpr;
        }
        var g = canvas.getContext("2d");
        g.setTransform(dpr, 0, 0, dpr, 0, 0);
        g.clearRect(0, 0, w, h);
        g.font = "12px RedHatText, helvetica, arial, sans-serif";
        return { g: g, w: w, h: h };
    }

    function niceMax(v) {
        if (!(v > 0))
            return 1;
        var p = Math.pow(10, Math.floor(Math.log10(v)));
        var steps = [1, 2, 4, 8, 10]; // quarters that read well
        for (var i = 0; i < steps.length; i++)
            if (steps[i] * p >= v)
                return steps[i] * p;
        return 10 * p;
    }

    function axes(c, box, yMax, unit, right) {
        var g = c.g;
        g.strokeStyle = "#d2d2d2";
        g.fillStyle = "#6a6e73";
        g.lineWidth = 1;
        for (var i = 0; i <= 4; i++) {
            var y = box.y + box.h - (box.h * i) / 4;
            if (!right) {
                g.beginPath();
                g.moveTo(box.x, Math.round(y) + 0.5);
                g.lineTo(box.x + box.w, Math.round(y) + 0.5);
                g.stroke();
            }
            var label = String(+(yMax * i / 4).toFixed(1));
            g.textAlign = right ? "left" : "right";
            g.fillText(label, right ? box.x + box.w + 4 : box.x - 4, y + 4);
        }
        g.textAlign = right ? "right" : "left";
        g.fillText(unit, right ? box.x + box.w + 30 : box.x - 30, box.y - 6);
    }

    // samples: [{t (ms), freq, target, amp}], newest last; window_ms wide.
    function strip(canvas, samples, windowMs, fMax, aMax) {
        var c = prepare(canvas), g = c.g;
        var box = { x: 36, y: 18, w: c.w - 72, h: c.h - 40 };
        if (box.w < 10 || box.h < 10)
            return;
        var now = samples.length ? samples[samples.length - 1].t : 0;
        fMax = niceMax(fMax);
        aMax = niceMax(aMax);
        axes(c, box, fMax, "Hz", false);
        axes(c, box, aMax, "m/s²", true);
        g.fillStyle = "#6a6e73";
        g.textAlign = "center";
        for (var s = 0; s <= windowMs / 1000; s += 10)
            g.fillText(s === 0 ? "now" : "-" + s + " s", box.x + box.w - (box.w * s * 1000) / windowMs, box.y + box.h + 16);
        function line(key, max, color, dash) {
            g.strokeStyle = color;
            g.lineWidth = 2;
            g.setLineDash(dash || []);
            g.beginPath();
            var started = false;
            samples.forEach(function (p) {
                var x = box.x + box.w - ((now - p.t) * box.w) / windowMs;
                var y = box.y + box.h - (Math.min(p[key], max) * box.h) / max;
                if (x < box.x)
                    return;
                if (started)
                    g.lineTo(x, y);
                else
                    g.moveTo(x, y);
                started = true;
            });
            g.stroke();
            g.setLineDash([]);
        }
        line("target", fMax, COLORS.target, [6, 4]);
        line("amp", aMax, COLORS.amp);
        line("freq", fMax, COLORS.freq);
    }

    // sessions: [{label, values: {key: number}}]; keys: the series in order.
    // lines: true draws points joined by lines (pain), else grouped bars.
    function grouped(canvas, sessions, keys, colors, opts) {
        var c = prepare(canvas), g = c.g;
        var box = { x: 36, y: 18, w: c.w - 48, h: c.h - 42 };
        if (box.w < 10 || box.h < 10)
            return;
        var max = opts.max;
        if (!max) {
            max = 0;
            sessions.forEach(function (s) {
                keys.forEach(function (k) { max = Math.max(max, s.values[k] || 0); });
            });
            max = niceMax(max);
        }
        axes(c, box, max, opts.unit, false);
        if (!sessions.length) {
            g.fillStyle = "#6a6e73";
            g.textAlign = "center";
            g.fillText("no session yet", box.x + box.w / 2, box.y + box.h / 2);
            return;
        }
        var slot = box.w / sessions.length;
        g.textAlign = "center";
        sessions.forEach(function (s, i) {
            g.fillStyle = "#6a6e73";
            if (sessions.length <= 16 || i % Math.ceil(sessions.length / 16) === 0)
                g.fillText(s.label, box.x + slot * (i + 0.5), box.y + box.h + 16);
        });
        if (opts.lines) {
            keys.forEach(function (k, j) {
                g.strokeStyle = g.fillStyle = colors[j];
                g.lineWidth = 2;
                g.beginPath();
                var started = false;
                sessions.forEach(function (s, i) {
                    var v = s.values[k];
                    if (v === undefined || v === null || v < 0) {
                        started = false;
                        return;
                    }
                    var x = box.x + slot * (i + 0.5), y = box.y + box.h - (v * box.h) / max;
                    if (started)
                        g.lineTo(x, y);
                    else
                        g.moveTo(x, y);
                    started = true;
                });
                g.stroke();
                sessions.forEach(function (s, i) {
                    var v = s.values[k];
                    if (v === undefined || v === null || v < 0)
                        return;
                    g.beginPath();
                    g.arc(box.x + slot * (i + 0.5), box.y + box.h - (v * box.h) / max, 4, 0, 2 * Math.PI);
                    g.fill();
                });
            });
            return;
        }
        var bw = Math.max(2, Math.min(28, (slot * 0.8) / keys.length));
        sessions.forEach(function (s, i) {
            var x0 = box.x + slot * (i + 0.5) - (bw * keys.length) / 2;
            keys.forEach(function (k, j) {
                var v = s.values[k] || 0;
                var hgt = (Math.min(v, max) * box.h) / max;
                g.fillStyle = colors[j % colors.length];
                g.fillRect(x0 + j * bw, box.y + box.h - hgt, bw - 1, hgt);
            });
        });
    }

    return { strip: strip, grouped: grouped, COLORS: COLORS };
})();

// SPDX-License-Identifier: MIT
// massaged.js - the massaged page in Cockpit (docs/ui.md).
//
// Everything goes through org.massaged.Massager1 on the system bus as the
// logged-in user (cockpit.dbus), so the bus policy and the daemon's group
// check decide what this page may do; the page never decides it. The live
// view is fed by the daemon's PropertiesChanged signals (no polling); the
// lists are read again when a session ends or after a change made here.
"use strict";

(function () {
    var NAME = "org.massaged.Massager1", PATH = "/org/massaged/Massager1", IFACE = NAME;
    var WINDOW_MS = 60000;

    var client = null, proxy = null;
    var authorized = null; // null: not known yet; true; false
    var unauthText = "";
    var programs = [];
    var courses = [];
    var samples = [];
    var pointsAdded = 0;
    var sessionTotal = {}; // session id -> the longest time left seen (us)
    var lastFault = null; // {reason, text, at} from the Fault signal
    var pauseFault = null; // the Fault signal behind the current pause
    var lastState = "";
    var selectedCourse = 0;

    var STATE_WORDS = {
        "no-device": "No massager connected",
        idle: "Idle: ready to start",
        ready: "A queued session is ready: press Continue to start it",
        calibrating: "Calibrating the motor (about 9 s)",
        running: "Running",
        paused: "Paused",
        waiting: "Waiting: move the pad to the next site, then press Continue",
        stopping: "Stopping",
        estop: "EMERGENCY STOP",
        fault: "Fault: the motor was stopped"
    };

    // What must show at once, whatever tab is open. Each rule reads the
    // properties; the first that matches wins. A new safety notice of the
    // daemon (a property) is one more line here.
    var ALARMS = [
        function (p) {
            return p.State === "estop" && {
                kind: "estop", title: "EMERGENCY STOP",
                text: reasonText(p, "the emergency stop was pressed") +
                    ". Release the button, then press Reset. The motor stays off until a session is started again.",
                reset: true
            };
        },
        function (p) {
            return p.State === "fault" && {
                kind: "fault", title: "FAULT: the motor was stopped",
                text: reasonText(p, "a safety rule stopped the motor") +
                    ". Press Reset once the cause is dealt with; nothing vibrates until a session is started again.",
                reset: true
            };
        },
        function (p) {
            // A safety pause is told by the Fault signal: FaultReason names
            // the last fault of any kind and stays after a reset, so it
            // cannot tell a safety pause from a person's.
            var why = pauseFault ? pauseFault.text || pauseFault.reason
                : p.FaultText && p.FaultText !== "by request" ? p.FaultText : "";
            return p.State === "paused" && why && {
                kind: "paused", title: /lifted|contact/.test(why) ? "CONTACT LOST: paused" : "PAUSED by a safety rule",
                text: capitalize(why) + ". Put the pad back on the body and press Resume, or Stop.",
                reset: false
            };
        },
        function (p) {
            // Unreachable target: HeldFrequency is not 0 while the motor
            // cannot reach the target; HeldReason says why (docs/dbus-api.md).
            return p.HeldFrequency > 0 && p.State !== "idle" && {
                kind: "unreachable", title: "TARGET NOT REACHED",
                text: "The motor holds " + fmtHz(p.HeldFrequency) + ", not the " +
                    fmtHz(p.TargetFrequency) + " prescribed" +
                    (p.HeldReason ? ": " + p.HeldReason : "") +
                    ". Less pressure, or another frequency.",
                reset: false
            };
        }
    ];

    function $(id) { return document.getElementById(id); }

    function el(tag, text, cls) {
        var e = document.createElement(tag);
        if (text !== undefined && text !== null)
            e.textContent = String(text);
        if (cls)
            e.className = cls;
        return e;
    }

    function capitalize(r) {
        return r ? r.charAt(0).toUpperCase() + r.slice(1) : "";
    }

    function reasonText(p, fallback) {
        return capitalize(p.FaultText || p.FaultReason || (lastFault && lastFault.text) || fallback);
    }

    function fmtHz(v) { return (+v || 0).toFixed(1) + " Hz"; }

    function fmtDuration(usec) {
        var s = Math.max(0, Math.round(usec / 1e6));
        var m = Math.floor(s / 60);
        s %= 60;
        return m + ":" + (s < 10 ? "0" : "") + s;
    }

    function fmtTime(usec) {
        if (!usec)
            return "–";
        var d = new Date(usec / 1000);
        return d.toLocaleDateString(undefined, { month: "short", day: "numeric" }) + " " +
            d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
    }

    function errorText(ex) {
        var name = (ex && ex.name) || "";
        var msg = (ex && ex.message) || String(ex);
        if (/AccessDenied$/.test(name))
            return "Refused by the system bus's policy: only the \"massage\" group and root may do this. Ask the station's administrator.";
        return msg;
    }

    function isRefusal(ex) {
        return ex && /(NotAuthorized|AccessDenied)$/.test(ex.name || "");
    }

    function notify(text) {
        $("notice-text").textContent = text;
        $("notice").hidden = false;
    }

    function call(method, signature, args) {
        return client.call(PATH, IFACE, method, args || [], { type: signature || "" });
    }

    // A control: the call, and on a refusal the daemon's words on screen.
    function act(method, signature, args) {
        $("notice").hidden = true;
        return call(method, signature, args).catch(function (ex) {
            if (isRefusal(ex))
                setUnauthorized(ex);
            notify(method + ": " + errorText(ex));
            throw ex;
        });
    }

    // ---- tabs
    function showTab(name) {
        document.querySelectorAll("#tabs .pf-c-tabs__item").forEach(function (li) {
            var on = li.dataset.tab === name;
            li.classList.toggle("pf-m-current", on);
            li.querySelector("button").setAttribute("aria-selected", on ? "true" : "false");
            li.querySelector("button").tabIndex = on ? 0 : -1;
        });
        document.querySelectorAll(".ms-page").forEach(function (s) {
            s.hidden = s.id !== "page-" + name;
        });
        if (cockpit.location.path[0] !== name && !(name === "now" && !cockpit.location.path.length))
            cockpit.location.go(name === "now" ? [] : [name]);
        refresh(name);
        if (name === "now")
            drawPlot();
    }

    function setupTabs() {
        var items = Array.prototype.slice.call(document.querySelectorAll("#tabs .pf-c-tabs__item"));
        items.forEach(function (li, i) {
            var b = li.querySelector("button");
            b.addEventListener("click", function () { showTab(li.dataset.tab); });
            b.addEventListener("keydown", function (ev) {
                var d = ev.key === "ArrowRight" ? 1 : ev.key === "ArrowLeft" ? -1 : 0;
                if (!d)
                    return;
                var next = items[(i + d + items.length) % items.length];
                next.querySelector("button").focus();
                showTab(next.dataset.tab);
            });
        });
        cockpit.addEventListener("locationchanged", function () {
            showTab(cockpit.location.path[0] || "now");
        });
    }

    // ---- who is calling
    function setUnauthorized(ex) {
        if (authorized === false)
            return;
        authorized = false;
        // The daemon's own words when it refused; the bus's policy refuses
        // outsiders before the daemon sees the call (docs/dbus-api.md).
        unauthText = (/NotAuthorized$/.test(ex.name || "") ? "The station refused: " + ex.message + "."
            : "You are not in the \"massage\" group: the system bus refuses your calls to the station.") +
            " You can watch the state and read the programs; control and patient data are for the group.";
        $("unauth").textContent = unauthText;
        $("unauth").hidden = false;
        document.body.classList.add("ms-outsider");
        updateControls();
    }

    function probeAuthorization() {
        // ListQueue names patients: the bus and the daemon let only the
        // group through, so its answer says what this user may do.
        return call("ListQueue").then(function () {
            authorized = true;
            updateControls();
        }, function (ex) {
            if (isRefusal(ex))
                setUnauthorized(ex);
            else
                notify("ListQueue: " + errorText(ex));
        });
    }

    // ---- Now
    function updateControls() {
        var p = (proxy && proxy.data) || {};
        var st = p.State || "";
        var prog = p.Progress || [0, 0, 0, 0, 0, 0, false];
        var enable = {
            "btn-pause": st === "running" || st === "waiting",
            "btn-resume": st === "paused",
            "btn-continue": st === "waiting" || st === "ready" || (st === "paused" && prog[6]),
            "btn-skip": st === "running" || st === "paused" || st === "waiting",
            "btn-stop": st !== "no-device" && st !== "",
            "ready-start": st === "ready"
        };
        Object.keys(enable).forEach(function (id) {
            var b = $(id);
            var on = enable[id] && authorized !== false;
            b.disabled = !on;
            b.setAttribute("aria-disabled", on ? "false" : "true");
            b.title = authorized === false ? unauthText : "";
        });
        ["start-run", "start-enqueue", "manual-run", "plan-add", "pain-record", "alarm-reset"].forEach(function (id) {
            var b = $(id);
            b.disabled = authorized === false;
            b.title = authorized === false ? unauthText : "";
        });
        var why = $("controls-why");
        why.hidden = authorized !== false;
        why.textContent = authorized === false ? "Controls unavailable: not in the \"massage\" group (see above)." : "";
    }

    function updateAlarm() {
        var p = proxy.data;
        var a = null;
        for (var i = 0; i < ALARMS.length && !a; i++)
            a = ALARMS[i](p) || null;
        var box = $("alarm");
        if (!a) {
            box.hidden = true;
            box.dataset.kind = "";
            document.body.classList.remove("ms-alarmed");
            return;
        }
        box.hidden = false;
        box.dataset.kind = a.kind;
        document.body.classList.add("ms-alarmed");
        $("alarm-title").textContent = a.title;
        $("alarm-text").textContent = a.text;
        $("alarm-reset").hidden = !a.reset;
    }

    function updateNow() {
        var p = proxy.data;
        var st = p.State || "";
        var words = $("state-words");
        words.textContent = STATE_WORDS[st] || st;
        words.dataset.state = st;
        document.body.dataset.state = st;

        var prog = p.Progress || [0, 0, 0, 0, 0, 0, false];
        var line = [];
        var active = st === "running" || st === "paused" || st === "waiting" || st === "stopping";
        if (p.SessionId && (active || st === "estop" || st === "fault")) {
            line.push(p.Program === "manual" ? "Manual vibration" : "Program " + programTitle(p.Program));
            if (p.Patient)
                line.push("for " + p.Patient);
            if (p.Site)
                line.push("site: " + p.Site);
            if (prog[1])
                line.push("step " + (prog[0] + 1) + " of " + prog[1]);
            if (prog[3] > 1)
                line.push("repetition " + prog[2] + " of " + prog[3]);
        } else if (p.SessionId) {
            line.push("Last session #" + p.SessionId + " (" + (p.Program === "manual" ? "manual" : programTitle(p.Program)) + ")");
        }
        $("session-line").textContent = line.join(" · ");

        var left = prog[5] || 0;
        var total = sessionTotal[p.SessionId] || 0;
        if (active && left > total)
            total = sessionTotal[p.SessionId] = left;
        var frac = active && total ? 1 - left / total : 0;
        $("time-left").textContent = active ? fmtDuration(left) + " left" : "–";
        $("progress-indicator").style.width = Math.round(frac * 100) + "%";
        $("progress-bar").setAttribute("aria-valuenow", String(Math.round(frac * 100)));

        var contact = $("contact");
        var driving = st === "running" || st === "waiting";
        contact.className = "pf-c-label " + (p.Contact ? "pf-m-green" : driving ? "pf-m-orange" : "");
        $("contact-text").textContent = p.Contact ? "On the body" : driving ? "No contact" : "Contact: –";
        var th = p.ThermalHeadroom;
        $("thermal").className = "pf-c-label " + (th === undefined ? "" : th < 200 ? "pf-m-red" : th < 500 ? "pf-m-orange" : "pf-m-blue");
        $("thermal-text").textContent = "Thermal headroom " + (th === undefined ? "–" : Math.round(th / 10) + " %");
        $("freq-text").textContent = p.Frequency ? fmtHz(p.Frequency) + " (target " + fmtHz(p.TargetFrequency) + ")" : "Motor off";
        $("ready-note").hidden = st !== "ready";
        updateControls();
        updateAlarm();
    }

    function addSample(p) {
        var now = Date.now();
        samples.push({ t: now, freq: +p.Frequency || 0, target: +p.TargetFrequency || 0, amp: +p.Amplitude || 0 });
        while (samples.length && samples[0].t < now - WINDOW_MS - 2000)
            samples.shift();
        pointsAdded++;
        var c = $("plot");
        c.dataset.points = String(pointsAdded);
        c.dataset.lastFrequency = String(samples[samples.length - 1].freq);
        c.dataset.lastTarget = String(samples[samples.length - 1].target);
        c.dataset.lastAmplitude = String(samples[samples.length - 1].amp);
        schedulePlot();
    }

    var plotQueued = false;
    function schedulePlot() {
        if (plotQueued)
            return;
        plotQueued = true;
        window.requestAnimationFrame(function () {
            plotQueued = false;
            drawPlot();
        });
    }

    function drawPlot() {
        if ($("page-now").hidden)
            return;
        var p = (proxy && proxy.data) || {};
        var fMax = p.FrequencyMax || 60, aMax = 1;
        // The strip keeps moving while nothing arrives: a point at "now"
        // repeating the last values (a drawing aid, not a sample).
        var pts = samples.slice();
        if (pts.length)
            pts.push({ t: Date.now(), freq: pts[pts.length - 1].freq, target: pts[pts.length - 1].target, amp: pts[pts.length - 1].amp });
        pts.forEach(function (s) { aMax = Math.max(aMax, s.amp); });
        MsPlot.strip($("plot"), pts, WINDOW_MS, fMax, aMax);
    }

    // ---- programs and Start
    function programTitle(name) {
        for (var i = 0; i < programs.length; i++)
            if (programs[i].name === name)
                return programs[i].title || name;
        return name || "";
    }

    function fillPrograms() {
        ["start-program", "plan-program", "course-program"].forEach(function (id) {
            var s = $(id), keep = s.value;
            s.textContent = "";
            programs.forEach(function (pr) {
                var o = el("option", pr.title ? pr.title : pr.name + " (does not parse)");
                o.value = pr.name;
                s.appendChild(o);
            });
            if (keep)
                s.value = keep;
        });
    }

    function loadPrograms() {
        return call("ListPrograms").then(function (r) {
            programs = r[0].map(function (x) {
                return { name: x[0], title: x[1], path: x[2], steps: x[3], usec: x[4] };
            });
            fillPrograms();
            showProgram();
        }, function (ex) { notify("ListPrograms: " + errorText(ex)); });
    }

    function showProgram() {
        var name = $("start-program").value;
        if (!name)
            return;
        call("GetProgram", "s", [name]).then(function (r) {
            $("program-title").textContent = r[0];
            $("program-description").textContent = r[1];
            $("program-source").textContent = r[2] ? "Source: " + r[2] : "";
            var tb = $("program-steps").tBodies[0];
            tb.textContent = "";
            r[4].forEach(function (s, n) {
                var tr = el("tr");
                var drive = s[3] ? Math.round(s[3] / 10) + " %" : s[4] + " m/s²";
                var time = fmtDuration(s[5]) + (s[6] > 1 ? " × " + s[6] + (s[7] ? ", rest " + fmtDuration(s[7]) : "") : "");
                var then = n === r[4].length - 1 ? "end of the session" : s[8] === "pause" ? "go on after " + fmtDuration(s[9]) : s[8] === "confirm" ? "wait for Continue" : s[8] === "button" ? "wait for the handset button" : s[8];
                [s[0], s[1], fmtHz(s[2]), drive, time, then].forEach(function (v, i) {
                    var td = el("td", v);
                    td.dataset.label = ["Site", "Technique", "Frequency", "Drive", "Time", "Then"][i];
                    tr.appendChild(td);
                });
                tb.appendChild(tr);
            });
        }, function (ex) {
            $("program-title").textContent = name;
            $("program-description").textContent = errorText(ex);
            $("program-steps").tBodies[0].textContent = "";
        });
    }

    function startOptions(patientId, painId) {
        var o = { outlive_client: { t: "b", v: true } };
        var who = $("start-who").value;
        if (painId && $(painId).value !== "")
            o.pain_before = { t: "u", v: +$(painId).value };
        if (who && who !== "patient" && patientId === "start-patient") {
            o.course = { t: "t", v: +who };
        } else {
            var pat = $(patientId).value.trim();
            if (pat)
                o.patient = { t: "s", v: pat };
        }
        return o;
    }

    function setupStart() {
        var pain = $("start-pain"), score = $("pain-score");
        var none = el("option", "not asked");
        none.value = "";
        pain.appendChild(none);
        for (var i = 0; i <= 10; i++) {
            var o = el("option", i);
            o.value = String(i);
            pain.appendChild(o);
            score.appendChild(o.cloneNode(true));
        }
        $("start-program").addEventListener("change", showProgram);
        $("start-who").addEventListener("change", function () {
            var course = $("start-who").value !== "patient";
            $("start-patient-group").hidden = course;
            if (course) {
                var c = courses.filter(function (x) { return String(x.id) === $("start-who").value; })[0];
                if (c)
                    $("start-program").value = c.program;
                showProgram();
            }
        });
        $("start-form").addEventListener("submit", function (ev) {
            ev.preventDefault();
            var opts = startOptions("start-patient", "start-pain");
            act("StartProgram", "sa{sv}", [$("start-program").value, opts]).then(function () {
                showTab("now");
            }, function () {});
        });
        $("start-enqueue").addEventListener("click", function () {
            var opts = startOptions("start-patient", null);
            delete opts.outlive_client;
            act("Enqueue", "sa{sv}", [$("start-program").value, opts]).then(function () {
                showTab("queue");
            }, function () {});
        });
        $("manual-form").addEventListener("submit", function (ev) {
            ev.preventDefault();
            var f = parseFloat($("manual-freq").value), it = parseInt($("manual-intensity").value, 10);
            var secs = parseFloat($("manual-seconds").value) || 0;
            var o = { outlive_client: { t: "b", v: true } };
            var pat = $("manual-patient").value.trim();
            if (pat)
                o.patient = { t: "s", v: pat };
            // the daemon checks the band too (OutOfBand) and says why
            act("StartManual", "duta{sv}", [f, it, Math.round(secs * 1e6), o]).then(function () {
                showTab("now");
            }, function () {});
        });
    }

    // The manual form's limits are the station's own (const properties).
    function updateBand() {
        var p = proxy.data;
        if (p.FrequencyMin === undefined)
            return;
        var f = $("manual-freq"), it = $("manual-intensity");
        f.min = String(p.FrequencyMin);
        f.max = String(p.FrequencyMax);
        if (!f.value)
            f.value = String(Math.min(p.FrequencyMax, Math.max(p.FrequencyMin, 45)));
        $("manual-freq-label").textContent = "Frequency (" + p.FrequencyMin + "–" + p.FrequencyMax + " Hz)";
        it.min = "1";
        it.max = String(p.IntensityMax);
        if (!it.value)
            it.value = String(Math.min(p.IntensityMax, 800));
        $("manual-intensity-label").textContent = "Intensity (1–" + p.IntensityMax + " ‰)";
    }

    // ---- queue and plans
    function cellRow(tbody, values, labels) {
        var tr = el("tr");
        values.forEach(function (v, i) {
            var td = el("td", v);
            if (labels)
                td.dataset.label = labels[i];
            tr.appendChild(td);
        });
        tbody.appendChild(tr);
        return tr;
    }

    function actionCell(tr, label, fn) {
        var td = el("td");
        var b = el("button", label, "pf-c-button pf-m-link ms-touch");
        b.type = "button";
        b.disabled = authorized === false;
        b.addEventListener("click", fn);
        td.appendChild(b);
        tr.appendChild(td);
    }

    function emptyRow(tbody, cols, text) {
        var tr = el("tr");
        var td = el("td", text, "ms-empty");
        td.colSpan = cols;
        tr.appendChild(td);
        tbody.appendChild(tr);
    }

    function refusedRow(tbody, cols, ex) {
        if (isRefusal(ex))
            setUnauthorized(ex);
        emptyRow(tbody, cols, isRefusal(ex) ? "Not shown: " + unauthText : errorText(ex));
    }

    function loadQueue() {
        var qb = $("queue-table").tBodies[0], pb = $("plans-table").tBodies[0];
        return Promise.all([
            call("ListQueue").then(function (r) {
                qb.textContent = "";
                r[0].forEach(function (e) {
                    var tr = cellRow(qb, [e[0], programTitle(e[1]), e[2] || "–", e[3] || "–", e[4] ? fmtTime(e[4]) : "–"]);
                    actionCell(tr, "Remove", function () { act("Dequeue", "t", [e[0]]).then(loadQueue, function () {}); });
                });
                if (!r[0].length)
                    emptyRow(qb, 6, "The queue is empty.");
            }, function (ex) { qb.textContent = ""; refusedRow(qb, 6, ex); }),
            call("ListPlans").then(function (r) {
                pb.textContent = "";
                r[0].forEach(function (e) {
                    var when = /^\d+$/.test(e[3]) ? fmtTime(+e[3]) : e[3];
                    var tr = cellRow(pb, [e[0], programTitle(e[1]), e[2] || "–", when + (e[5] ? " daily" : ""), fmtTime(e[4])]);
                    actionCell(tr, "Cancel", function () { act("CancelPlan", "t", [e[0]]).then(loadQueue, function () {}); });
                });
                if (!r[0].length)
                    emptyRow(pb, 6, "No plans.");
            }, function (ex) { pb.textContent = ""; refusedRow(pb, 6, ex); })
        ]);
    }

    function setupQueue() {
        $("plan-form").addEventListener("submit", function (ev) {
            ev.preventDefault();
            var o = {};
            var pat = $("plan-patient").value.trim();
            if (pat)
                o.patient = { t: "s", v: pat };
            act("Plan", "ssba{sv}", [$("plan-program").value, $("plan-when").value, $("plan-daily").checked, o])
                .then(loadQueue, function () {});
        });
    }

    // ---- courses
    function loadCourses() {
        var tb = $("courses-table").tBodies[0];
        return call("ListCourses").then(function (r) {
            courses = r[0].map(function (c) {
                return { id: c[0], patient: c[1], program: c[2], sessions: c[3], done: c[4], missed: c[5], due: c[6], next: c[7] };
            });
            tb.textContent = "";
            courses.forEach(function (c) {
                var tr = cellRow(tb, [c.id, c.patient, programTitle(c.program), c.done + " of " + c.sessions, c.missed, c.due, fmtTime(c.next)],
                                 ["#", "Patient", "Program", "Done", "Missed", "Due", "Next due"]);
                tr.classList.toggle("pf-m-selected", c.id === selectedCourse);
                actionCell(tr, "Chart", function () { showCourse(c.id); });
            });
            if (!courses.length)
                emptyRow(tb, 8, "No courses.");
            var who = $("start-who"), keep = who.value;
            while (who.options.length > 1)
                who.remove(1);
            courses.forEach(function (c) {
                var o = el("option", "course #" + c.id + ": " + c.patient + ", " + programTitle(c.program));
                o.value = String(c.id);
                who.appendChild(o);
            });
            who.value = keep || "patient";
            if (selectedCourse)
                showCourse(selectedCourse);
        }, function (ex) {
            tb.textContent = "";
            refusedRow(tb, 8, ex);
        });
    }

    function showCourse(id) {
        selectedCourse = id;
        var c = courses.filter(function (x) { return x.id === id; })[0];
        if (!c)
            return;
        $("course-detail").hidden = false;
        $("course-title").textContent = "Course #" + c.id + ": " + c.patient + ", " + programTitle(c.program) +
            " (" + c.done + " done, " + c.missed + " missed, " + c.due + " due)";
        // The export holds each session's course and per-step doses.
        Promise.all([call("ExportHistory", "st", ["json", 0]), call("GetCourseDose", "t", [id])]).then(function (r) {
            var all = JSON.parse(r[0][0]).sessions.filter(function (s) { return s.course === id; });
            var sites = [];
            var rows = all.map(function (s, i) {
                var v = {};
                s.steps.forEach(function (st) {
                    if (sites.indexOf(st.site) < 0)
                        sites.push(st.site);
                    v[st.site] = (v[st.site] || 0) + st.dose;
                });
                return { label: String(i + 1), id: s.id, values: v, pain: { before: s.pain_before, after: s.pain_after } };
            });
            var colors = MsPlot.COLORS.sites;
            MsPlot.grouped($("dose-chart"), rows, sites, colors, { unit: "m/s²·s" });
            MsPlot.grouped($("pain-chart"), rows.map(function (x) { return { label: x.label, values: x.pain }; }),
                           ["before", "after"], [MsPlot.COLORS.before, MsPlot.COLORS.after], { unit: "pain", max: 10, lines: true });
            var dc = $("dose-chart");
            dc.dataset.sessions = String(rows.length);
            dc.dataset.sites = sites.join("|");
            dc.dataset.sessionIds = rows.map(function (x) { return x.id; }).join(",");
            $("pain-chart").dataset.pairs = rows.map(function (x) {
                return (x.pain.before === null ? "-" : x.pain.before) + ">" + (x.pain.after === null ? "-" : x.pain.after);
            }).join(",");
            var lg = $("dose-legend");
            lg.textContent = "";
            sites.forEach(function (s, j) {
                lg.appendChild(el("span", "", "ms-key")).style.background = colors[j % colors.length];
                lg.appendChild(document.createTextNode(s + " "));
            });
            var tb = $("course-dose").tBodies[0];
            tb.textContent = "";
            r[1][0].forEach(function (s) {
                cellRow(tb, [s[0], s[1], fmtDuration(s[2]), s[3].toFixed(1)]);
            });
            var ps = $("pain-session"), keep = ps.value;
            ps.textContent = "";
            rows.slice().reverse().forEach(function (x) {
                var o = el("option", "session " + x.label + " (#" + x.id + ")");
                o.value = String(x.id);
                ps.appendChild(o);
            });
            if (keep)
                ps.value = keep;
            if (!ps.value && ps.options.length)
                ps.selectedIndex = 0;
        }, function (ex) { notify("Course #" + id + ": " + errorText(ex)); });
    }

    function setupCourses() {
        $("course-form").addEventListener("submit", function (ev) {
            ev.preventDefault();
            act("CreateCourse", "ssuut", [$("course-patient").value.trim(), $("course-program").value,
                +$("course-sessions").value, +$("course-interval").value, 0])
                .then(function (r) { selectedCourse = r[0]; loadCourses(); }, function () {});
        });
        $("pain-form").addEventListener("submit", function (ev) {
            ev.preventDefault();
            act("SetPainScore", "tsu", [+$("pain-session").value, $("pain-when").value, +$("pain-score").value])
                .then(function () { showCourse(selectedCourse); }, function () {});
        });
    }

    // ---- history
    function sinceUsec() {
        var v = $("history-since").value;
        return v ? new Date(v + "T00:00:00").getTime() * 1000 : 0;
    }

    function loadHistory() {
        var tb = $("history-table").tBodies[0];
        var want = $("history-patient").value.trim().toLowerCase();
        return call("ListSessions", "tu", [sinceUsec(), 200]).then(function (r) {
            tb.textContent = "";
            var n = 0;
            r[0].forEach(function (s) {
                if (want && s[2].toLowerCase().indexOf(want) < 0)
                    return;
                n++;
                var pain = (s[8] < 0 ? "–" : s[8]) + " → " + (s[9] < 0 ? "–" : s[9]);
                var tr = cellRow(tb, [s[0], fmtTime(s[3]), s[1] === "manual" ? "manual" : programTitle(s[1]), s[2] || "–", s[5],
                    fmtDuration(s[6]), s[7].toFixed(1), pain],
                    ["#", "Started", "Program", "Patient", "Outcome", "Contact", "Dose", "Pain"]);
                tr.tabIndex = 0;
                tr.classList.add("ms-clickable");
                var open = function () { showSession(s[0]); };
                tr.addEventListener("click", open);
                tr.addEventListener("keydown", function (ev) { if (ev.key === "Enter") open(); });
            });
            if (!n)
                emptyRow(tb, 8, "No sessions.");
        }, function (ex) { tb.textContent = ""; refusedRow(tb, 8, ex); });
    }

    function showSession(id) {
        call("GetSession", "t", [id]).then(function (r) {
            $("session-detail").hidden = false;
            $("session-title").textContent = "Session #" + id;
            var tb = $("session-steps").tBodies[0];
            tb.textContent = "";
            r[0].forEach(function (st) {
                cellRow(tb, [st[0] + 1, st[1], fmtHz(st[2]), fmtDuration(st[3]), st[4].toFixed(1), st[5]]);
            });
        }, function (ex) { notify("Session #" + id + ": " + errorText(ex)); });
    }

    function download(format) {
        act("ExportHistory", "st", [format, sinceUsec()]).then(function (r) {
            var blob = new Blob([r[0]], { type: format === "json" ? "application/json" : "text/csv" });
            var a = el("a");
            a.href = URL.createObjectURL(blob);
            a.download = "massaged-history-" + new Date().toISOString().slice(0, 10) + "." + format;
            document.body.appendChild(a);
            a.click();
            a.remove();
            window.setTimeout(function () { URL.revokeObjectURL(a.href); }, 10000);
        }, function () {});
    }

    function setupHistory() {
        $("history-filter").addEventListener("submit", function (ev) {
            ev.preventDefault();
            loadHistory();
        });
        $("export-csv").addEventListener("click", function () { download("csv"); });
        $("export-json").addEventListener("click", function () { download("json"); });
    }

    function refresh(tab) {
        if (!client)
            return;
        if (tab === "queue")
            loadQueue();
        else if (tab === "courses")
            loadCourses();
        else if (tab === "history")
            loadHistory();
        else if (tab === "start" && authorized !== false)
            loadCourses();
    }

    // ---- the bus
    function refreshPatient() {
        // Patient's changes come as invalidations (the name is not
        // broadcast); the group may read it.
        if (authorized !== true)
            return;
        client.call(PATH, "org.freedesktop.DBus.Properties", "Get", [IFACE, "Patient"], { type: "ss" })
            .then(function (r) {
                proxy.data.Patient = r[0].v;
                updateNow();
            }, function () {});
    }

    function connect() {
        client = cockpit.dbus(NAME, { bus: "system" });
        proxy = client.proxy(IFACE, PATH);
        var lastSession = null;
        proxy.addEventListener("changed", function (ev, data) {
            if ("Frequency" in data || "Amplitude" in data || "TargetFrequency" in data)
                addSample(proxy.data);
            if ("FrequencyMin" in data || "IntensityMax" in data)
                updateBand();
            if (proxy.data.State !== lastState) {
                lastState = proxy.data.State;
                // a new start or a resume ends what the last pause was for
                if (["running", "idle", "ready", "waiting", "calibrating"].indexOf(lastState) >= 0)
                    pauseFault = null;
            }
            if ("SessionId" in data && proxy.data.SessionId !== lastSession) {
                lastSession = proxy.data.SessionId;
                refreshPatient();
            }
            updateNow();
        });
        client.subscribe({ interface: IFACE, member: "Fault" }, function (path, iface, signal, args) {
            lastFault = { reason: args[0], text: args[1], at: Date.now() };
            pauseFault = lastFault;
            updateAlarm();
        });
        client.subscribe({ interface: IFACE, member: "SessionFinished" }, function () {
            var cur = document.querySelector(".ms-page:not([hidden])");
            refresh(cur ? cur.id.replace("page-", "") : "now");
        });
        client.addEventListener("close", function (ev, options) {
            $("state-words").textContent = "Lost the connection to the station (" + (options.problem || "closed") + "): reload the page.";
            $("state-words").dataset.state = "disconnected";
        });
        proxy.wait(function () {
            if (!proxy.valid) {
                $("state-words").textContent = "massaged is not running on this station (no " + NAME + " on the system bus).";
                $("state-words").dataset.state = "absent";
                return;
            }
            updateBand();
            updateNow();
            loadPrograms();
            probeAuthorization().then(function () {
                refreshPatient();
                refresh(cockpit.location.path[0] || "now");
            });
        });
    }

    function init() {
        setupTabs();
        setupStart();
        setupQueue();
        setupCourses();
        setupHistory();
        document.querySelectorAll("[data-call]").forEach(function (b) {
            b.addEventListener("click", function () { act(b.dataset.call).catch(function () {}); });
        });
        $("alarm-reset").addEventListener("click", function () { act("ResetEstop").catch(function () {}); });
        $("notice-close").addEventListener("click", function () { $("notice").hidden = true; });
        window.addEventListener("resize", schedulePlot);
        window.setInterval(drawPlot, 1000);
        connect();
        showTab(cockpit.location.path[0] || "now");
        cockpit.transport.wait(function () { document.body.classList.add("ms-connected"); });
    }

    document.addEventListener("DOMContentLoaded", init);
    window.msPage = { samples: samples, props: function () { return proxy && proxy.data; } };
})();

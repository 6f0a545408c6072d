// dpwear serve: the Generate page. Element ids follow docs/serve.md ("Page elements").
'use strict';

(function () {
  var DPh = window.DP;
  var el = DPh.el;
  var num = DPh.num;
  var $ = function (id) {
    return document.getElementById(id);
  };

  // Field names of the JSON API → the input that holds them.
  var FIELD_INPUT = {
    model: 'model',
    subjects: 'subjects',
    windows_per_subject: 'windows',
    stress_fraction: 'stress',
    seed: 'seed',
  };
  var FINAL = { done: true, error: true, cancelled: true };
  var COLORS = ['#c0392b', '#2471a3', '#1e8449', '#7d3c98', '#b9770e', '#117a65'];
  var PLOT_HEIGHT = 140;

  var S = {
    info: null,
    models: [],
    model: null,
    jobId: null,
    request: null,
    es: null,
    lastSeq: -1,
    finalSeen: false,
    running: false,
    result: null,
    charts: [],
    syncing: false,
    subjectReq: 0,
  };

  document.addEventListener('DOMContentLoaded', init);

  async function init() {
    $('gen-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      generate();
    });
    $('cancel').addEventListener('click', cancel);
    $('model').addEventListener('change', function () {
      selectModel($('model').value);
    });
    $('new-seed').addEventListener('click', function () {
      $('seed').value = randomSeed();
      clearFieldError('seed');
    });
    $('stress-range').addEventListener('input', function () {
      $('stress').value = $('stress-range').value;
      updateCounts();
    });
    $('stress').addEventListener('input', function () {
      var v = Number($('stress').value);
      if ($('stress').value !== '' && v >= 0 && v <= 1) $('stress-range').value = String(v);
      updateCounts();
    });
    ['subjects', 'windows'].forEach(function (id) {
      $(id).addEventListener('input', updateCounts);
    });
    Object.keys(FIELD_INPUT).forEach(function (f) {
      $(FIELD_INPUT[f]).addEventListener('input', function () {
        clearFieldError(f);
      });
    });
    $('format').addEventListener('change', showFormat);
    $('subject-picker').addEventListener('change', function () {
      showSubject($('subject-picker').value);
    });
    $('copy-cli').addEventListener('click', copyCli);
    $('seed').value = randomSeed();
    if (window.ResizeObserver) new ResizeObserver(onResize).observe($('plots'));
    else window.addEventListener('resize', onResize);

    try {
      var got = await Promise.all([DPh.fetchJson('/api/info'), DPh.fetchJson('/api/models')]);
      S.info = got[0];
      S.models = got[1].models || [];
    } catch (e) {
      setStatus('error', 'could not load the models: ' + e.message);
      return;
    }
    var lim = S.info.limits || {};
    if (lim.max_subjects) $('subjects').max = lim.max_subjects;
    if (lim.max_windows_per_subject) $('windows').max = lim.max_windows_per_subject;
    fillModels();
    updateCounts();
  }

  function randomSeed() {
    var a = new Uint32Array(1);
    window.crypto.getRandomValues(a);
    return String(a[0] >>> 1); // 0 .. 2^31 - 1
  }

  // ---------------------------------------------------------------- models and card

  function fillModels() {
    var sel = $('model');
    DPh.clear(sel);
    var complete = S.models.filter(function (m) {
      return m.complete;
    });
    var rest = S.models.filter(function (m) {
      return !m.complete;
    });
    complete.concat(rest).forEach(function (m) {
      var label = m.name + ' · ' + m.generator + (m.mode && m.mode !== 'default' ? ' (' + m.mode + ')' : '') +
        ' · ' + (m.private ? 'ε ' + DPh.eps(m.epsilon) : 'not private');
      if (!m.complete) label += ' (unfinished)';
      sel.appendChild(el('option', { value: m.id, disabled: !m.complete }, label));
    });
    if (complete.length === 0) {
      sel.appendChild(el('option', { value: '', selected: true }, 'no finished checkpoint under --models'));
      sel.disabled = true;
      $('generate').disabled = true;
      renderCard(null);
      setStatus('idle', S.models.length ? 'No finished checkpoint: training must complete before generating.' : 'No model-card.json found under the --models folder.');
      return;
    }
    sel.disabled = false;
    var wanted = new URLSearchParams(location.search).get('model');
    var first = complete.find(function (m) {
      return m.id === wanted;
    }) || complete[0];
    sel.value = first.id;
    selectModel(first.id);
    $('generate').disabled = false;
  }

  function selectModel(id) {
    S.model = S.models.find(function (m) {
      return m.id === id;
    }) || null;
    clearFieldError('model');
    renderCard(S.model);
    var cond = !S.model || S.model.conditional !== false;
    $('stress').disabled = !cond;
    $('stress-range').disabled = !cond;
    updateCounts();
  }

  function renderCard(m) {
    var card = $('model-card');
    DPh.clear(card);
    if (!m) return;
    var head = el('div', { class: 'card-head' }, [
      el('span', { class: 'gen' }, DPh.genName(m.generator) + (m.mode ? ' · ' + m.mode : '')),
      el('span', { class: m.private ? 'badge dp' : 'badge nodp' }, m.private ? 'differentially private' : 'not private'),
    ]);
    card.appendChild(head);
    card.appendChild(el('div', { class: 'card-name', title: m.name }, m.name));

    var epsText = m.private ? DPh.eps(m.epsilon) : 'not private';
    var epsNode = el('span', { id: 'model-epsilon', class: 'eps', title: m.private ? 'ε spent: ' + m.epsilon : null }, epsText);
    var rows = [
      ['ε', [epsNode, m.private && m.epsilon_target != null ? el('span', { class: 'muted' }, ' (target ' + num(m.epsilon_target, 3) + ')') : null]],
      ['δ', DPh.delta(m.delta)],
      ['accountant', m.accountant || '—'],
      ['privacy unit', m.unit ? 'one ' + m.unit + (m.sampling ? ' · ' + m.sampling + ' sampling' : '') : '—'],
    ];
    var data = m.dataset ? m.dataset + (m.simulated ? ' (simulated)' : '') : '—';
    var subj = m.training_subjects || [];
    rows.push(['training data', data]);
    rows.push(['subjects', subj.length + (subj.length ? ': ' + subj.join(', ') : '') +
      (m.excluded_subjects && m.excluded_subjects.length ? ' (excluded: ' + m.excluded_subjects.join(', ') + ')' : '')]);
    rows.push(['windows', DPh.int(m.windows) + ' × ' + (m.window_seconds || 60) + ' s' + (m.window_scheme ? ', ' + m.window_scheme : '')]);
    rows.push(['steps', DPh.int(m.steps_done) + ' / ' + DPh.int(m.steps_total) + (m.private ? ' (' + DPh.int(m.private_steps) + ' private)' : '')]);
    if (m.generator_parameters != null) rows.push(['parameters', DPh.int(m.generator_parameters)]);
    rows.push(['generator sha256', el('code', { title: m.generator_sha256 || '' }, DPh.shortHash(m.generator_sha256))]);
    rows.push(['date', DPh.date(m.date)]);
    var dl = el('dl', { class: 'kv' });
    rows.forEach(function (r) {
      dl.appendChild(el('dt', null, r[0]));
      dl.appendChild(el('dd', null, r[1]));
    });
    card.appendChild(dl);

    card.appendChild(el('p', { class: m.private ? 'statement' : 'statement warn' }, m.privacy_statement || ''));
    if (m.not_covered && m.not_covered.length) {
      card.appendChild(el('details', { class: 'small not-covered-box' }, [
        el('summary', null, 'Not covered by the privacy statement (' + m.not_covered.length + ')'),
        el('ul', { class: 'not-covered' }, m.not_covered.map(function (t) {
          return el('li', null, t);
        })),
      ]));
    }
    if (m.conditional === false) {
      card.appendChild(el('p', { class: 'note small' }, DPh.genName(m.generator) + ' makes its own labels: the stress fraction does not apply.'));
    }
    var details = el('details', { class: 'small' }, el('summary', null, 'full model card (JSON)'));
    var pre = el('pre', { class: 'json' });
    details.appendChild(pre);
    details.addEventListener('toggle', function () {
      if (!details.open || pre.textContent) return;
      pre.textContent = 'loading…';
      DPh.fetchJson('/api/models/' + encodeURIComponent(m.id)).then(function (r) {
        pre.textContent = JSON.stringify(r.card, null, 2);
      }, function (e) {
        pre.textContent = 'could not load: ' + e.message;
      });
    });
    card.appendChild(details);
  }

  // ---------------------------------------------------------------- form

  function counts(n, f) {
    return { normal: Math.floor((1 - f) * n + 1e-9), stress: Math.floor(f * n + 1e-9) };
  }

  function updateCounts() {
    var out = $('stress-counts');
    var n = parseWhole($('windows').value);
    var f = Number($('stress').value);
    if (S.model && S.model.conditional === false) {
      out.textContent = DPh.genName(S.model.generator) + ' makes its own labels; ' + (Number.isNaN(n) ? '?' : n) + ' windows per subject.';
      return;
    }
    if (Number.isNaN(n) || $('stress').value === '' || !(f >= 0 && f <= 1)) {
      out.textContent = '';
      return;
    }
    var c = counts(n, f);
    out.textContent = 'per subject: ' + c.normal + ' non-stress + ' + c.stress + ' stress = ' + (c.normal + c.stress) + ' windows';
  }

  /** A whole number from an input's text, or NaN. */
  function parseWhole(s) {
    s = String(s).trim();
    return /^\d+$/.test(s) ? Number(s) : NaN;
  }

  /** The request body, or null after showing the inline errors. */
  function readForm() {
    var lim = (S.info && S.info.limits) || {};
    var maxS = lim.max_subjects || 1000;
    var maxW = lim.max_windows_per_subject || 10000;
    var maxT = lim.max_total_windows || Infinity;
    var maxSeed = lim.max_seed || Number.MAX_SAFE_INTEGER;
    var errs = {};
    if (!S.model) errs.model = 'pick a model';
    else if (!S.model.complete) errs.model = 'this checkpoint is unfinished';
    var subjects = parseWhole($('subjects').value);
    if (Number.isNaN(subjects) || subjects < 1 || subjects > maxS) errs.subjects = 'a whole number from 1 to ' + DPh.int(maxS);
    var windows = parseWhole($('windows').value);
    if (Number.isNaN(windows) || windows < 1 || windows > maxW) errs.windows_per_subject = 'a whole number from 1 to ' + DPh.int(maxW);
    else if (!errs.subjects && subjects * windows > maxT) {
      errs.windows_per_subject = 'subjects × windows = ' + DPh.int(subjects * windows) + ' is over the limit of ' + DPh.int(maxT) + ' windows';
    }
    var stressText = $('stress').value.trim();
    var stress = Number(stressText);
    var conditional = !S.model || S.model.conditional !== false;
    if (stressText === '' || Number.isNaN(stress) || stress < 0 || stress > 1) {
      if (conditional) errs.stress_fraction = 'a number from 0 to 1';
      stress = 0.3;
    } else if (conditional && !errs.windows_per_subject) {
      var c = counts(windows, stress);
      if (c.normal + c.stress === 0) errs.stress_fraction = 'gives 0 windows per subject; ask for more windows';
    }
    var seedText = $('seed').value.trim();
    var seed = null;
    if (seedText !== '') {
      seed = parseWhole(seedText);
      if (Number.isNaN(seed) || seed > maxSeed) errs.seed = 'a whole number from 0 to ' + DPh.int(maxSeed) + ' (or empty: the server draws one)';
    }
    var bad = Object.keys(errs);
    bad.forEach(function (f) {
      showFieldError(f, errs[f]);
    });
    if (bad.length) {
      var input = $(FIELD_INPUT[bad[0]]);
      if (input) input.focus();
      return null;
    }
    var body = { model: S.model.id, subjects: subjects, windows_per_subject: windows, stress_fraction: stress };
    if (seed !== null) body.seed = seed;
    return body;
  }

  function fieldErrorNode(field) {
    return document.querySelector('.field-error[data-field="' + field + '"]');
  }

  function showFieldError(field, msg) {
    var node = fieldErrorNode(field);
    if (!node) {
      node = fieldErrorNode('form');
      msg = field + ': ' + msg;
    }
    node.textContent = msg;
    var input = $(FIELD_INPUT[field]);
    if (input) {
      input.classList.add('invalid');
      input.setAttribute('aria-invalid', 'true');
    }
  }

  function clearFieldError(field) {
    var node = fieldErrorNode(field);
    if (node) node.textContent = '';
    var input = $(FIELD_INPUT[field]);
    if (input) {
      input.classList.remove('invalid');
      input.removeAttribute('aria-invalid');
    }
  }

  function clearErrors() {
    Object.keys(FIELD_INPUT).concat(['form']).forEach(clearFieldError);
  }

  // ---------------------------------------------------------------- the job

  function setStatus(state, text) {
    var s = $('status');
    s.setAttribute('data-state', state);
    s.textContent = text;
  }

  function setProgress(done, total) {
    var p = $('progress');
    p.max = total > 0 ? total : 1;
    p.value = Math.min(done || 0, p.max);
    $('progress-text').textContent = total > 0 ? (done || 0) + ' / ' + total + ' subjects' : '';
  }

  function setRunning(on) {
    S.running = on;
    $('generate').disabled = on || !S.model || !S.model.complete;
    $('cancel').disabled = !on;
    $('model').disabled = on || S.models.length === 0;
  }

  async function generate() {
    if (S.running) return;
    clearErrors();
    var body = readForm();
    if (!body) return;
    closeEvents();
    setRunning(true);
    S.jobId = null;
    S.lastSeq = -1;
    S.finalSeen = false;
    setProgress(0, body.subjects);
    setStatus('running', 'submitting…');
    var created;
    try {
      created = await DPh.postJson('/api/jobs', body);
    } catch (e) {
      setRunning(false);
      if (e.status === 429) {
        showFieldError('form', 'a generation is already running');
        setStatus('error', 'a generation is already running; wait for it or cancel it');
      } else if (e.status === 400 && e.field) {
        showFieldError(e.field, e.message);
        setStatus('idle', 'not started: fix the highlighted field');
      } else {
        showFieldError('form', e.message);
        setStatus('error', 'not started: ' + e.message);
      }
      return;
    }
    S.jobId = created.id;
    if (created.seed !== undefined && created.seed !== null) {
      $('seed').value = String(created.seed);
      body.seed = created.seed;
    }
    S.request = body;
    if (created.state) onState(created.id, created.state);
    if (!S.finalSeen) openEvents(created.id);
  }

  function openEvents(id) {
    var es = new EventSource('/api/jobs/' + encodeURIComponent(id) + '/events');
    S.es = es;
    var handler = function (ev) {
      var st;
      try {
        st = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      onState(id, st);
    };
    es.addEventListener('state', handler);
    es.addEventListener('message', handler);
    es.onerror = function () {
      // EventSource reconnects by itself (the server sends the latest state again); when the
      // browser gives up, fall back to polling the job.
      if (es.readyState === EventSource.CLOSED && S.es === es) {
        S.es = null;
        pollJob(id);
      }
    };
  }

  function closeEvents() {
    if (S.es) {
      S.es.close();
      S.es = null;
    }
  }

  async function pollJob(id) {
    while (S.jobId === id && !S.finalSeen) {
      try {
        var job = await DPh.fetchJson('/api/jobs/' + encodeURIComponent(id));
        onState(id, job.state);
      } catch (e) {
        if (S.jobId === id) {
          S.finalSeen = true;
          setRunning(false);
          setStatus('error', 'lost the job: ' + e.message);
        }
        return;
      }
      await new Promise(function (r) {
        setTimeout(r, 1000);
      });
    }
  }

  function phaseText(st) {
    var t;
    if (st.phase === 'queued') t = 'queued';
    else if (st.phase === 'loading') t = 'loading the generator…';
    else if (st.phase === 'generating') t = 'generating: ' + (st.done || 0) + ' of ' + st.total + ' subjects';
    else t = st.phase;
    return st.message && st.phase !== 'generating' ? t + ' (' + st.message + ')' : t;
  }

  function onState(id, st) {
    if (id !== S.jobId || !st || S.finalSeen) return;
    if (typeof st.seq === 'number') {
      if (st.seq < S.lastSeq) return;
      S.lastSeq = st.seq;
    }
    setProgress(st.done, st.total);
    if (!FINAL[st.phase]) {
      setStatus('running', phaseText(st));
      return;
    }
    S.finalSeen = true;
    closeEvents();
    $('cancel').disabled = true;
    if (st.phase === 'done') {
      finishDone(id);
    } else if (st.phase === 'cancelled') {
      setRunning(false);
      setStatus('cancelled', 'cancelled after ' + (st.done || 0) + ' of ' + st.total + ' subjects' + (st.message ? ' (' + st.message + ')' : ''));
    } else {
      setRunning(false);
      setStatus('error', 'error: ' + (st.message || 'the generation failed'));
    }
  }

  async function cancel() {
    var id = S.jobId;
    if (!id || !S.running) return;
    $('cancel').disabled = true;
    setStatus('running', 'cancelling…');
    try {
      var r = await DPh.fetchJson('/api/jobs/' + encodeURIComponent(id), { method: 'DELETE' });
      if (r && r.state) onState(id, r.state);
    } catch (e) {
      if (!S.finalSeen) {
        $('cancel').disabled = false;
        setStatus('running', 'could not cancel: ' + e.message);
      }
    }
  }

  // ---------------------------------------------------------------- the result

  async function finishDone(id) {
    setStatus('running', 'done; loading the result…');
    try {
      var job = await DPh.fetchJson('/api/jobs/' + encodeURIComponent(id));
      if (id !== S.jobId) return;
      if (!job.result) throw new Error('the job has no result');
      S.result = job.result;
      if (job.request) S.request = job.request;
      renderResult(job);
      var first = job.result.subjects[0];
      if (first) await showSubject(String(first.id));
      if (id !== S.jobId) return;
      setRunning(false);
      var r = job.result;
      setStatus('done', 'done: ' + r.subjects.length + ' subjects, ' + DPh.int(r.windows) + ' windows, ' +
        DPh.int(r.rows) + ' rows · seed ' + (S.request ? S.request.seed : '?'));
      if (S.info && S.info.real) loadCompare(id);
    } catch (e) {
      if (id !== S.jobId) return;
      setRunning(false);
      setStatus('error', 'the result could not be shown: ' + e.message);
    }
  }

  function renderResult(job) {
    var r = job.result;
    $('result').hidden = false;
    var picker = $('subject-picker');
    DPh.clear(picker);
    r.subjects.forEach(function (s) {
      picker.appendChild(el('option', { value: s.id }, s.id + ' · ' + s.windows + ' windows (' + s.stress_windows + ' stress)'));
    });
    var seed = S.request ? S.request.seed : null;
    ['csv', 'h5', 'npz'].forEach(function (f) {
      var a = $('download-' + f);
      a.href = r.downloads[f];
      a.setAttribute('download', 'dpwear_' + job.model + '_seed' + seed + '.' + f);
    });
    var model = S.models.find(function (m) {
      return m.id === job.model;
    });
    $('result-info').textContent = r.subjects.length + ' subjects · ' + DPh.int(r.windows) + ' windows · ' + DPh.int(r.rows) +
      ' rows · model ' + (model ? model.name : job.model) + ' · ' + (r.epsilon != null ? 'ε ' + DPh.eps(r.epsilon) : 'not private') +
      (r.privacy_statement ? ' — ' + r.privacy_statement : '');
    showFormat();
  }

  /** Highlights the chosen format's download and puts it in the CLI line. */
  function showFormat() {
    var fmt = $('format').value;
    ['csv', 'h5', 'npz'].forEach(function (f) {
      $('download-' + f).classList.toggle('primary', f === fmt);
    });
    if (!S.result) return;
    var cli = S.result.cli || '';
    if (fmt !== 'csv') cli = cli.replace(/(--out\s+'?[^'\s]*)\.csv('?)/, '$1.' + fmt + '$2');
    $('cli').textContent = cli;
    $('copy-status').textContent = '';
  }

  async function showSubject(sid) {
    var id = S.jobId;
    var token = ++S.subjectReq;
    $('subject-picker').value = sid;
    renderSummary(sid);
    var data;
    try {
      data = await DPh.fetchJson('/api/jobs/' + encodeURIComponent(id) + '/subjects/' + encodeURIComponent(sid));
    } catch (e) {
      $('subject-info').textContent = 'could not load subject ' + sid + ': ' + e.message;
      throw e;
    }
    if (token !== S.subjectReq || id !== S.jobId) return;
    var stressSec = data.labels.reduce(function (a, b) {
      return a + (b === 1 ? 1 : 0);
    }, 0);
    $('subject-info').textContent = data.labels.length + ' s, ' + stressSec + ' s stress';
    drawPlots(data);
  }

  function renderSummary(sid) {
    var r = S.result;
    var table = $('summary');
    DPh.clear(table);
    var subj = r.subjects.find(function (s) {
      return String(s.id) === String(sid);
    });
    var stats = ['mean', 'sd', 'min', 'max'];
    table.appendChild(el('thead', null, [
      el('tr', null, [
        el('th', { rowspan: 2 }, 'channel'),
        el('th', { colspan: 4, class: 'group' }, 'subject ' + sid),
        el('th', { colspan: 4, class: 'group' }, 'all ' + r.subjects.length + ' subjects'),
      ]),
      el('tr', null, stats.concat(stats).map(function (s) {
        return el('th', { class: 'num' }, s);
      })),
    ]));
    var tbody = el('tbody');
    r.summary.forEach(function (all, i) {
      var one = subj ? subj.summary[i] : null;
      var cells = [el('th', { scope: 'row' }, all.channel)];
      stats.forEach(function (k) {
        cells.push(el('td', { class: 'num' }, one ? num(one[k], 3) : '—'));
      });
      stats.forEach(function (k) {
        cells.push(el('td', { class: 'num' + (k === 'mean' ? ' sep' : '') }, num(all[k], 3)));
      });
      tbody.appendChild(el('tr', null, cells));
    });
    table.appendChild(tbody);
  }

  // ---------------------------------------------------------------- plots (uPlot)

  function stressRuns(labels) {
    var runs = [];
    var start = -1;
    for (var i = 0; i <= labels.length; i++) {
      var on = i < labels.length && labels[i] === 1;
      if (on && start < 0) start = i;
      if (!on && start >= 0) {
        runs.push([start, i]);
        start = -1;
      }
    }
    return runs;
  }

  function destroyCharts() {
    S.charts.forEach(function (c) {
      c.destroy();
    });
    S.charts = [];
  }

  function plotWidth() {
    return Math.max(320, Math.floor($('plots').clientWidth));
  }

  function drawPlots(data) {
    destroyCharts();
    var plots = DPh.clear($('plots'));
    var n = data.labels.length;
    var xs = new Array(n);
    for (var i = 0; i < n; i++) xs[i] = i;
    var runs = stressRuns(data.labels);
    var shade = function (u) {
      if (!runs.length) return;
      var ctx = u.ctx;
      var b = u.bbox;
      ctx.save();
      ctx.beginPath();
      ctx.rect(b.left, b.top, b.width, b.height);
      ctx.clip();
      ctx.fillStyle = 'rgba(231, 76, 60, 0.14)';
      runs.forEach(function (r) {
        var x0 = u.valToPos(r[0], 'x', true);
        var x1 = u.valToPos(r[1], 'x', true);
        ctx.fillRect(x0, b.top, Math.max(1, x1 - x0), b.height);
      });
      ctx.restore();
    };
    var width = plotWidth();
    data.channels.forEach(function (ch, c) {
      var div = el('div', { class: 'channel-plot', 'data-channel': ch });
      plots.appendChild(div);
      var last = c === data.channels.length - 1;
      var opts = {
        title: ch,
        width: width,
        height: PLOT_HEIGHT + (last ? 18 : 0),
        cursor: { sync: { key: 'dpwear-subject' }, drag: { x: true, y: false } },
        scales: {
          x: { time: false },
          // The model's scale is [0, 1] (min-max scaled data); show all of it, and more if a
          // generator strays outside.
          y: { range: function (u, min, max) { return [Math.min(0, min), Math.max(1, max)]; } },
        },
        legend: { show: true, live: true },
        series: [
          { label: 'second', value: function (u, v) { return v == null ? '—' : v + ' s'; } },
          { label: ch, stroke: COLORS[c % COLORS.length], width: 1.25, points: { show: false },
            value: function (u, v) { return v == null ? '—' : num(v, 4); } },
        ],
        axes: [
          { label: last ? 'time (s)' : undefined, labelSize: last ? 18 : 0, size: 30 },
          { size: 48, values: function (u, splits) { return splits.map(function (v) { return num(v, 3); }); } },
        ],
        hooks: { drawClear: [shade], setScale: [syncZoom] },
      };
      S.charts.push(new window.uPlot(opts, [xs, data.values[c]], div));
    });
  }

  /** Applies one chart's x zoom (drag, double-click reset) to the others. */
  function syncZoom(u, key) {
    if (key !== 'x' || S.syncing) return;
    S.syncing = true;
    try {
      var min = u.scales.x.min;
      var max = u.scales.x.max;
      S.charts.forEach(function (c) {
        if (c !== u && (c.scales.x.min !== min || c.scales.x.max !== max)) c.setScale('x', { min: min, max: max });
      });
    } finally {
      S.syncing = false;
    }
  }

  var resizeQueued = false;
  function onResize() {
    if (resizeQueued) return;
    resizeQueued = true;
    requestAnimationFrame(function () {
      resizeQueued = false;
      var w = plotWidth();
      S.charts.forEach(function (c) {
        if (Math.abs(c.width - w) > 1) c.setSize({ width: w, height: c.height });
      });
    });
  }

  // ---------------------------------------------------------------- copy as CLI

  async function copyCli() {
    var text = $('cli').textContent;
    var ok = false;
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        ok = true;
      } catch (e) {
        ok = false;
      }
    }
    if (!ok) {
      var ta = el('textarea', { class: 'offscreen', readonly: true });
      ta.value = text;
      document.body.appendChild(ta);
      ta.select();
      try {
        ok = document.execCommand('copy');
      } catch (e) {
        ok = false;
      }
      document.body.removeChild(ta);
    }
    if (!ok) {
      var range = document.createRange();
      range.selectNodeContents($('cli'));
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
    }
    $('copy-status').textContent = ok ? 'copied' : 'selected: press Ctrl+C to copy';
  }

  // ---------------------------------------------------------------- compare with the real store

  async function loadCompare(id) {
    var sec = $('compare');
    sec.hidden = false;
    DPh.clear($('histograms'));
    DPh.clear($('heatmaps'));
    $('compare-status').textContent = 'loading…';
    var c;
    try {
      c = await DPh.fetchJson('/api/jobs/' + encodeURIComponent(id) + '/compare');
    } catch (e) {
      $('compare-status').textContent = 'could not load the comparison: ' + e.message;
      return;
    }
    if (id !== S.jobId) return;
    $('compare-status').textContent = '';
    var real = c.real || S.info.real || {};
    $('compare-real').textContent = '(' + real.name + ': ' + real.subjects + ' subjects, ' + DPh.int(real.windows) + ' windows)';
    c.channels.forEach(function (ch) {
      $('histograms').appendChild(histogram(ch));
    });
    var corr = c.correlation;
    $('heatmaps').appendChild(heatmap('real', corr.channels, corr.real));
    $('heatmaps').appendChild(heatmap('synthetic', corr.channels, corr.synthetic));
  }

  function histogram(ch) {
    var W = 260, H = 110, P = { l: 6, r: 6, t: 6, b: 18 };
    var box = el('figure', { class: 'hist' });
    box.appendChild(el('figcaption', null, ch.channel));
    var svg = DPh.svg('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': ch.channel + ' densities, real and synthetic' });
    var nb = ch.real.length;
    var ymax = 0;
    ch.real.concat(ch.synthetic).forEach(function (v) {
      if (v > ymax) ymax = v;
    });
    if (!(ymax > 0)) ymax = 1;
    var bw = (W - P.l - P.r) / nb;
    var y = function (v) {
      return H - P.b - (Math.max(0, v) / ymax) * (H - P.t - P.b);
    };
    ch.real.forEach(function (v, i) {
      var top = y(v);
      svg.appendChild(DPh.svg('rect', { x: P.l + i * bw, y: top, width: Math.max(0.5, bw - 0.5), height: H - P.b - top, class: 'bar-real' }));
    });
    var d = '';
    ch.synthetic.forEach(function (v, i) {
      var x0 = P.l + i * bw;
      d += (i === 0 ? 'M' + x0 + ' ' + y(0) + ' ' : '') + 'L' + x0 + ' ' + y(v) + ' L' + (x0 + bw) + ' ' + y(v) + ' ';
    });
    d += 'L' + (P.l + nb * bw) + ' ' + y(0);
    svg.appendChild(DPh.svg('path', { d: d, class: 'line-synth' }));
    svg.appendChild(DPh.svg('line', { x1: P.l, x2: W - P.r, y1: H - P.b, y2: H - P.b, class: 'axis' }));
    var e = ch.edges;
    svg.appendChild(DPh.svg('text', { x: P.l, y: H - 4, class: 'tick' }, num(e[0], 3)));
    svg.appendChild(DPh.svg('text', { x: W - P.r, y: H - 4, class: 'tick end' }, num(e[e.length - 1], 3)));
    box.appendChild(svg);
    var out = [];
    if (ch.synthetic_below > 0) out.push(num(100 * ch.synthetic_below, 2) + ' % below');
    if (ch.synthetic_above > 0) out.push(num(100 * ch.synthetic_above, 2) + ' % above');
    box.appendChild(el('div', { class: 'muted small' }, out.length ? 'synthetic outside the real range: ' + out.join(', ') : '\u00a0'));
    return box;
  }

  function corrColor(v) {
    if (v === null || v === undefined || Number.isNaN(v)) return '#dddddd';
    var a = Math.min(1, Math.abs(v));
    var base = v >= 0 ? [192, 57, 43] : [36, 113, 163];
    var mix = function (c) {
      return Math.round(255 + (c - 255) * a);
    };
    return 'rgb(' + mix(base[0]) + ',' + mix(base[1]) + ',' + mix(base[2]) + ')';
  }

  function heatmap(title, channels, m) {
    var k = channels.length, cell = 40, L = 52, T = 20;
    var W = L + k * cell, H = T + k * cell;
    var box = el('figure', { class: 'heat' });
    box.appendChild(el('figcaption', null, title));
    var svg = DPh.svg('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': title + ' correlation matrix' });
    channels.forEach(function (ch, i) {
      svg.appendChild(DPh.svg('text', { x: L - 4, y: T + i * cell + cell / 2 + 4, class: 'tick end' }, ch));
      svg.appendChild(DPh.svg('text', { x: L + i * cell + cell / 2, y: T - 6, class: 'tick mid' }, ch));
      for (var j = 0; j < k; j++) {
        var v = m[i] ? m[i][j] : null;
        var r = DPh.svg('rect', { x: L + j * cell, y: T + i * cell, width: cell - 1, height: cell - 1, fill: corrColor(v) });
        r.appendChild(DPh.svg('title', null, channels[i] + ' × ' + channels[j] + ': ' + (v == null ? 'undefined' : num(v, 4))));
        svg.appendChild(r);
        svg.appendChild(DPh.svg('text', { x: L + j * cell + cell / 2, y: T + i * cell + cell / 2 + 4,
          class: 'cell' + (v != null && Math.abs(v) > 0.6 ? ' light' : '') }, v == null ? '—' : v.toFixed(2)));
      }
    });
    box.appendChild(svg);
    return box;
  }
})();

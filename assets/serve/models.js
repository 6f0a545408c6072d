// dpwear serve: the Models page, a table of every checkpoint under --models.
'use strict';

(function () {
  var DPh = window.DP;
  var el = DPh.el;

  document.addEventListener('DOMContentLoaded', init);

  async function init() {
    var status = document.getElementById('models-status');
    var body = document.getElementById('models-body');
    var models, skipped;
    try {
      var got = await DPh.fetchJson('/api/models');
      models = got.models || [];
      skipped = got.skipped || [];
    } catch (e) {
      status.textContent = 'could not load the models: ' + e.message;
      return;
    }
    status.textContent = models.length === 0
      ? 'No model-card.json found under the --models folder.'
      : models.length + ' checkpoint' + (models.length === 1 ? '' : 's') + ', ' +
        models.filter(function (m) { return m.complete; }).length + ' complete.';
    if (skipped.length) {
      var box = document.getElementById('models-skipped');
      box.hidden = false;
      var ul = box.querySelector('ul');
      skipped.forEach(function (s) {
        ul.appendChild(el('li', null, [el('code', null, s.name), ': ' + s.reason]));
      });
    }
    models.forEach(function (m) {
      var name = m.complete
        ? el('a', { href: '/?model=' + encodeURIComponent(m.id), title: 'generate with ' + m.name }, m.name)
        : el('span', null, m.name);
      var eps = m.private
        ? el('span', { title: m.privacy_statement || '' }, DPh.eps(m.epsilon))
        : el('span', { class: 'muted', title: m.privacy_statement || '' }, 'not private');
      body.appendChild(el('tr', { 'data-model': m.id }, [
        el('td', null, name),
        el('td', { title: m.generator }, DPh.genName(m.generator) + (m.conditional === false ? ' (own labels)' : '')),
        el('td', null, m.mode || '—'),
        el('td', { class: 'num' }, eps),
        el('td', { class: 'num' }, DPh.delta(m.delta)),
        el('td', null, m.private ? m.accountant || '—' : '—'),
        el('td', null, m.private ? m.unit || '—' : '—'),
        el('td', { class: 'num' }, DPh.int(m.steps_done) + ' / ' + DPh.int(m.steps_total)),
        el('td', null, DPh.date(m.date)),
        el('td', { class: 'hash' }, el('code', { title: m.generator_sha256 || '' }, DPh.shortHash(m.generator_sha256))),
        el('td', null, m.complete
          ? el('span', { class: 'pill ok' }, 'complete')
          : el('span', { class: 'pill no', title: 'training did not finish; resume it with dpwear gan train' }, 'unfinished')),
      ]));
    });
  }
})();

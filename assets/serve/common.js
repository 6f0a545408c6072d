// dpwear serve: shared helpers, loaded first on every page.
// Records uncaught errors, unhandled promise rejections and CSP violations in window.__errors
// (the browser test asserts that it stays empty) and offers small DOM/JSON/number helpers under window.DP.
'use strict';

window.__errors = [];
window.addEventListener('error', function (ev) {
  var where = ev.filename ? ' (' + ev.filename + ':' + ev.lineno + ')' : '';
  window.__errors.push(String(ev.message || ev.error || 'error') + where);
});
// A Content-Security-Policy violation (an inline script or style, a foreign URL) is a bug too.
document.addEventListener('securitypolicyviolation', function (ev) {
  window.__errors.push('CSP violation: ' + ev.violatedDirective + ' ' + (ev.blockedURI || '') +
    (ev.sourceFile ? ' (' + ev.sourceFile + ':' + ev.lineNumber + ')' : ''));
});
window.addEventListener('unhandledrejection', function (ev) {
  var r = ev.reason;
  window.__errors.push('unhandled rejection: ' + String((r && r.message) || r));
});

window.DP = (function () {
  /** An Error carrying the HTTP status and the server's `field` (for form errors). */
  class ApiError extends Error {
    constructor(message, status, field, body) {
      super(message);
      this.name = 'ApiError';
      this.status = status;
      this.field = field || null;
      this.body = body || null;
    }
  }

  /**
   * fetch() that parses the JSON answer and throws an ApiError on a non-2xx status, with the
   * server's `error` message and `field` when it sent them.
   */
  async function fetchJson(url, opts) {
    var resp;
    try {
      resp = await fetch(url, opts);
    } catch (e) {
      throw new ApiError('the server did not answer (' + (e && e.message ? e.message : e) + ')', 0);
    }
    var text = await resp.text();
    var body = null;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch (e) {
        body = null;
      }
    }
    if (!resp.ok) {
      var msg = body && typeof body.error === 'string' ? body.error : 'HTTP ' + resp.status + (text && !body ? ': ' + text.slice(0, 200) : '');
      throw new ApiError(msg, resp.status, body && body.field, body);
    }
    if (body === null && text) throw new ApiError('not JSON: ' + text.slice(0, 200), resp.status);
    return body;
  }

  /** POST a JSON body. */
  function postJson(url, value) {
    return fetchJson(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(value),
    });
  }

  /**
   * el('td', {class: 'num', title: 'x'}, 'text' | [nodes or strings]): an element whose text is
   * set with textContent (never innerHTML).
   */
  function el(tag, attrs, content) {
    var node = document.createElement(tag);
    if (attrs) {
      for (var k in attrs) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) continue;
        if (k === 'class') node.className = v;
        else if (k === 'text') node.textContent = v;
        else node.setAttribute(k, v === true ? '' : String(v));
      }
    }
    append(node, content);
    return node;
  }

  function append(node, content) {
    if (content === null || content === undefined) return node;
    if (Array.isArray(content)) {
      content.forEach(function (c) {
        append(node, c);
      });
    } else if (content instanceof Node) {
      node.appendChild(content);
    } else {
      node.appendChild(document.createTextNode(String(content)));
    }
    return node;
  }

  var SVG_NS = 'http://www.w3.org/2000/svg';
  /** An SVG element with attributes (text through textContent). */
  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG_NS, tag);
    if (attrs) for (var k in attrs) node.setAttribute(k, String(attrs[k]));
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  /** Removes every child of a node. */
  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  /** A number with `digits` significant digits, trailing zeros dropped; '—' for null. */
  function num(x, digits) {
    if (x === null || x === undefined || Number.isNaN(x)) return '—';
    if (typeof x !== 'number') return String(x);
    if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
    if (x === 0) return '0';
    var d = digits || 4;
    var a = Math.abs(x);
    if (a >= 1e6 || a < 1e-4) return x.toExponential(Math.max(0, d - 1)).replace(/\.?0+e/, 'e');
    var s = x.toPrecision(d);
    if (s.indexOf('e') >= 0) s = String(Number(s));
    if (s.indexOf('.') >= 0) s = s.replace(/\.?0+$/, '');
    return s;
  }

  /** ε for display: 4 significant digits, or 'not private'. */
  function eps(x) {
    return x === null || x === undefined ? 'not private' : num(x, 4);
  }

  /** δ for display: 1e-5 rather than 0.00001. */
  function delta(x) {
    if (x === null || x === undefined) return '—';
    if (x === 0) return '0';
    if (Math.abs(x) < 1e-3) return x.toExponential().replace(/\.?0+e/, 'e').replace('e-0', 'e-');
    return num(x, 3);
  }

  /** An integer with thin thousands separators. */
  function int(x) {
    if (x === null || x === undefined) return '—';
    return Number(x).toLocaleString('en-US');
  }

  /** An ISO date (UTC) as '2026-12-08 01:02 UTC'. */
  function date(iso) {
    if (!iso) return '—';
    var m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)/.exec(iso);
    return m ? m[1] + ' ' + m[2] + ' UTC' : String(iso);
  }

  var GENERATORS = { cgan: 'cGAN', dgan: 'DoppelGANger', timegan: 'TimeGAN', 'dp-merf': 'DP-MERF' };
  /** A generator kind's display name ('dgan' → 'DoppelGANger'). */
  function genName(kind) {
    return GENERATORS[kind] || String(kind);
  }

  /** A shortened hash: its first 12 hex digits. */
  function shortHash(h) {
    return h ? String(h).slice(0, 12) + '…' : '—';
  }

  /** Fills #version (in the page footer) from /api/info when the element exists. */
  async function showVersion() {
    var node = document.getElementById('version');
    if (!node) return;
    try {
      var i = await fetchJson('/api/info');
      node.textContent = 'dpwear ' + i.version;
    } catch (e) {
      node.textContent = '';
    }
  }
  document.addEventListener('DOMContentLoaded', showVersion);

  return {
    ApiError: ApiError,
    fetchJson: fetchJson,
    postJson: postJson,
    el: el,
    svg: svg,
    append: append,
    clear: clear,
    num: num,
    eps: eps,
    delta: delta,
    int: int,
    date: date,
    shortHash: shortHash,
    genName: genName,
    showVersion: showVersion,
  };
})();

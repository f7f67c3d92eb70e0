// nginx's checks of a Host (header or request-line host) and of a request path that needs decoding:
// the refusals of ngx_http_validate_host and ngx_http_parse_complex_uri, as 400s before any Lua runs.

/** ngx_http_validate_host: no "..", no "/", no controls or spaces, not empty (a trailing dot is dropped). */
export function validHost(host: string): boolean {
  let dotPos = -2;
  let hostLen = host.length;
  let state: 'usual' | 'literal' | 'rest' = 'usual';
  for (let i = 0; i < host.length; i++) {
    const ch = host.charCodeAt(i);
    if (ch === 0x2e) {
      if (dotPos === i - 1) return false;
      dotPos = i;
    } else if (ch === 0x3a) {
      if (state === 'usual') {
        hostLen = i;
        state = 'rest';
      }
    } else if (ch === 0x5b) {
      if (i === 0) state = 'literal';
    } else if (ch === 0x5d) {
      if (state === 'literal') {
        hostLen = i + 1;
        state = 'rest';
      }
    } else if (ch === 0x2f || ch <= 0x20 || ch === 0x7f) {
      return false;
    }
  }
  if (dotPos === hostLen - 1) hostLen--;
  return hostLen > 0;
}

/**
 * ngx_http_parse_complex_uri's refusals: a bad %-escape, an escaped NUL, and a ".." that climbs
 * above the root (after decoding and merging slashes). The query string is not looked at.
 */
export function complexUriOk(path: string): boolean {
  let decoded = '';
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (c === '?') break;
    if (c === '#') break;
    if (c !== '%') {
      decoded += c;
      continue;
    }
    const hex = path.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return false;
    const v = parseInt(hex, 16);
    if (v === 0) return false;
    decoded += String.fromCharCode(v);
    i += 2;
  }
  let depth = 0;
  for (const seg of decoded.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (depth === 0) return false;
      depth--;
    } else depth++;
  }
  return true;
}

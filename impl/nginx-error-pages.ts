// The error pages nginx 1.22 answers a refused request with (ngx_http_special_response.c), as the
// lab's nginx peer sends them: the same status line, headers and body, "nginx" without a version.
import type { HeadStatus } from './request-head.js';

/** Reason phrase and the page's centred lines, by status. */
const PAGES: Record<HeadStatus | 408, [string, string]> = {
  400: ['Bad Request', '<center><h1>400 Bad Request</h1></center>'],
  405: ['Not Allowed', '<center><h1>405 Not Allowed</h1></center>'],
  408: ['Request Time-out', '<center><h1>408 Request Time-out</h1></center>'],
  413: ['Request Entity Too Large', '<center><h1>413 Request Entity Too Large</h1></center>'],
  414: ['Request-URI Too Large', '<center><h1>414 Request-URI Too Large</h1></center>'],
  494: ['Bad Request', '<center><h1>400 Bad Request</h1></center>\r\n<center>Request Header Or Cookie Too Large</center>'],
  501: ['Not Implemented', '<center><h1>501 Not Implemented</h1></center>'],
  505: ['HTTP Version Not Supported', '<center><h1>505 HTTP Version Not Supported</h1></center>'],
};

/**
 * The response nginx sends for a refused request: 494 goes out as 400 with its own title, and an
 * HTTP/0.9 request gets the page without a status line.
 */
export function nginxErrorResponse(status: HeadStatus | 408, http09 = false): Buffer {
  const [reason, center] = PAGES[status];
  const wire = status === 494 ? 400 : status;
  const title = status === 494 ? '400 Request Header Or Cookie Too Large' : `${wire} ${reason}`;
  const body = `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n${center}\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
  if (http09) return Buffer.from(body, 'latin1');
  return Buffer.from(`HTTP/1.1 ${wire} ${reason}\r\nContent-Type: text/html\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`, 'latin1');
}

#ifndef SR_HTTP_H
#define SR_HTTP_H
#include <stddef.h>

/* Progress: bytes received so far and the expected total (0 if unknown). Return non-zero to abort. */
typedef int (*sr_http_progress_fn)(void *ctx, long long now, long long total);

/* One HTTP(S) request through libcurl. With in_fd >= 0, in_len bytes read from it are the
 * request's body (PUT, PATCH, POST uploads). The body goes to out_fd, or (out_fd < 0) into a
 * malloc'd *body of at most body_max bytes. Redirects are followed; libcurl does not send
 * an Authorization header to another host. *headers gets the final response's header
 * lines (malloc'd, "\r\n"-separated). Returns 0 with *status set, or -1 with err filled. */
int sr_http_request(const char *method, const char *url, const char *const *req_headers, int nheaders,
                    int in_fd, long long in_len,
                    int out_fd, char **body, size_t *body_len, size_t body_max,
                    sr_http_progress_fn progress, void *ctx, int verify_tls,
                    long *status, char **headers, char *err, size_t errcap);

void sr_http_free(void *p);
#endif

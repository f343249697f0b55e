/* HTTP for `pull` and `login`, on libcurl (TLS, proxies from the environment, redirects).
 * libcurl is opened with dlopen on first use: linked, it and the ~25 libraries behind it
 * (OpenSSL, GnuTLS, Kerberos, LDAP...) load into every swiftrun process, each container's
 * supervisor included (measured: 1.2 MB more private memory per supervisor). */
#include "sr_http.h"
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct buf { char *p; size_t len, cap, max; int overflow; };

static int buf_add(struct buf *b, const char *d, size_t n) {
    if (b->len + n > b->max) { b->overflow = 1; return -1; }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = 0;
    return 0;
}

struct ctx {
    int fd;
    int in_fd;
    struct buf body, headers;
    int write_errno;
    sr_http_progress_fn progress;
    void *pctx;
};

static size_t on_body(char *d, size_t size, size_t n, void *userdata) {
    struct ctx *c = userdata;
    size_t len = size * n;
    if (c->fd >= 0) {
        size_t off = 0;
        while (off < len) {
            ssize_t w = write(c->fd, d + off, len - off);
            if (w < 0) {
                if (errno == EINTR) continue;
                c->write_errno = errno;
                return 0;
            }
            off += (size_t)w;
        }
        return len;
    }
    return buf_add(&c->body, d, len) == 0 ? len : 0;
}

/* An upload's body, read from in_fd as libcurl asks for it. */
static size_t on_read(char *d, size_t size, size_t n, void *userdata) {
    struct ctx *c = userdata;
    for (;;) {
        ssize_t r = read(c->in_fd, d, size * n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { c->write_errno = errno; return CURL_READFUNC_ABORT; }
        return (size_t)r;
    }
}

static size_t on_header(char *d, size_t size, size_t n, void *userdata) {
    struct ctx *c = userdata;
    size_t len = size * n;
    /* A new status line starts the headers of the next response (after a redirect). */
    if (len >= 5 && memcmp(d, "HTTP/", 5) == 0) c->headers.len = 0;
    buf_add(&c->headers, d, len);
    return len;
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ult, curl_off_t uln) {
    (void)ult; (void)uln;
    struct ctx *c = userdata;
    return c->progress ? c->progress(c->pctx, (long long)dlnow, (long long)dltotal) : 0;
}

static struct {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} C;
static char load_error[256];

static pthread_once_t once = PTHREAD_ONCE_INIT;
static void global_init(void) {
    void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!h) { snprintf(load_error, sizeof load_error, "%s", dlerror()); return; }
#define SYM(f, name) if (!(*(void **)&C.f = dlsym(h, name))) { snprintf(load_error, sizeof load_error, "libcurl.so.4 lacks %s", name); return; }
    SYM(global_init, "curl_global_init") SYM(easy_init, "curl_easy_init") SYM(easy_setopt, "curl_easy_setopt")
    SYM(easy_perform, "curl_easy_perform") SYM(easy_getinfo, "curl_easy_getinfo") SYM(easy_cleanup, "curl_easy_cleanup")
    SYM(easy_strerror, "curl_easy_strerror") SYM(slist_append, "curl_slist_append") SYM(slist_free_all, "curl_slist_free_all")
#undef SYM
    C.global_init(CURL_GLOBAL_DEFAULT);
}

int sr_http_request(const char *method, const char *url, const char *const *req_headers, int nheaders,
                    int in_fd, long long in_len,
                    int out_fd, char **body, size_t *body_len, size_t body_max,
                    sr_http_progress_fn progress, void *pctx, int verify_tls,
                    long *status, char **headers, char *err, size_t errcap) {
    pthread_once(&once, global_init);
    if (load_error[0]) { snprintf(err, errcap, "cannot load libcurl (%s): apt-get install libcurl4", load_error); return -1; }
    struct ctx c = { .fd = out_fd, .in_fd = in_fd, .body = { .max = body_max }, .headers = { .max = 1 << 20 }, .progress = progress, .pctx = pctx };
    char ebuf[CURL_ERROR_SIZE] = "";
    CURL *h = C.easy_init();
    if (!h) { snprintf(err, errcap, "curl_easy_init failed"); return -1; }
    struct curl_slist *list = NULL;
    for (int i = 0; i < nheaders; i++) list = C.slist_append(list, req_headers[i]);
    C.easy_setopt(h, CURLOPT_URL, url);
    if (strcmp(method, "HEAD") == 0) C.easy_setopt(h, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "GET") != 0) C.easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (in_fd >= 0) {
        /* The body from in_fd (a blob, a manifest), with its length; the verb stays `method`. */
        C.easy_setopt(h, CURLOPT_UPLOAD, 1L);
        C.easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        C.easy_setopt(h, CURLOPT_READDATA, &c);
        C.easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)in_len);
        C.easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        list = C.slist_append(list, "Expect:");
    }
    C.easy_setopt(h, CURLOPT_HTTPHEADER, list);
    C.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    C.easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
    C.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    C.easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    C.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    C.easy_setopt(h, CURLOPT_WRITEDATA, &c);
    C.easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    C.easy_setopt(h, CURLOPT_HEADERDATA, &c);
    C.easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    C.easy_setopt(h, CURLOPT_XFERINFODATA, &c);
    C.easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    C.easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
    C.easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    /* A stalled transfer (under 1 byte/s for 60 s) fails instead of hanging forever. */
    C.easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    C.easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    C.easy_setopt(h, CURLOPT_USERAGENT, "swiftrun");
    C.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (!verify_tls) {
        C.easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        C.easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    CURLcode rc = C.easy_perform(h);
    int ret = 0;
    if (rc != CURLE_OK) {
        if (c.write_errno) snprintf(err, errcap, "write: %s", strerror(c.write_errno));
        else if (c.body.overflow) snprintf(err, errcap, "response larger than %zu bytes", body_max);
        else snprintf(err, errcap, "%s", ebuf[0] ? ebuf : C.easy_strerror(rc));
        ret = -1;
    } else {
        C.easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
        if (body) { *body = c.body.p; c.body.p = NULL; }
        if (body_len) *body_len = c.body.len;
        if (headers) { *headers = c.headers.p; c.headers.p = NULL; }
    }
    free(c.body.p);
    free(c.headers.p);
    C.slist_free_all(list);
    C.easy_cleanup(h);
    return ret;
}

void sr_http_free(void *p) { free(p); }

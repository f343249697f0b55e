#!/usr/bin/env python3
"""A small OCI distribution registry on 127.0.0.1 for the pull tests, serving one OCI image
layout as REPO:TAG, wrapped in an image index with a linux/amd64 and a linux/arm64 entry.
Writes its port to PORTFILE once listening; logs "METHOD PATH STATUS" lines to LOGFILE.
  --auth none|basic|bearer   what it asks for (bearer: a token from /token, itself behind
                             basic auth when --user is set, as Docker Hub's realm is)
  --user U:P                 the credentials it accepts
  --corrupt                  serves the first layer with one byte changed
  --redirect                 blobs answer 307 to /_blob/<digest> (as registries send to a CDN)
Usage: registry.py LAYOUT REPO TAG PORTFILE LOGFILE [options]"""
import base64, hashlib, http.server, json, os, sys, threading, time

layout, repo, tag, portfile, logfile = sys.argv[1:6]
opts = sys.argv[6:]
auth = opts[opts.index("--auth") + 1] if "--auth" in opts else "none"
user = opts[opts.index("--user") + 1] if "--user" in opts else None
corrupt, redirect, slow = "--corrupt" in opts, "--redirect" in opts, "--slow" in opts
TOKEN = "t0k3n-" + os.urandom(8).hex()

def blob(d):
    with open(os.path.join(layout, "blobs", "sha256", d.split(":")[1]), "rb") as f:
        return f.read()

index = json.load(open(os.path.join(layout, "index.json")))
mdesc = index["manifests"][0]
manifest = blob(mdesc["digest"])
first_layer = json.loads(manifest)["layers"][0]["digest"]
arm = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + "0" * 64, "size": 2},
                  "layers": []}).encode()
arm_digest = "sha256:" + hashlib.sha256(arm).hexdigest()
top = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
    {"mediaType": mdesc["mediaType"], "digest": mdesc["digest"], "size": mdesc["size"], "platform": {"os": "linux", "architecture": "amd64"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": arm_digest, "size": len(arm),
     "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}}]}).encode()
top_digest = "sha256:" + hashlib.sha256(top).hexdigest()
manifests = {tag: (top, "application/vnd.oci.image.index.v1+json"), top_digest: (top, "application/vnd.oci.image.index.v1+json"),
             mdesc["digest"]: (manifest, mdesc["mediaType"]), arm_digest: (arm, "application/vnd.oci.image.manifest.v1+json")}
lock = threading.Lock()

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, body=b"", ctype="application/json", extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        with lock, open(logfile, "a") as f:
            f.write("%s %s %d\n" % (self.command, self.path, code))
        if self.command == "HEAD":
            return
        if slow and len(body) > 4096:
            # A blob in 16 KiB pieces, 10 ms apart (0.7 s for the test layer): a test can kill a pull half way.
            for i in range(0, len(body), 16384):
                self.wfile.write(body[i:i + 16384])
                self.wfile.flush()
                time.sleep(0.01)
            with lock, open(logfile, "a") as f:
                f.write("DONE %s\n" % self.path)
        else:
            self.wfile.write(body)

    def basic_ok(self):
        h = self.headers.get("Authorization", "")
        return user is not None and h == "Basic " + base64.b64encode(user.encode()).decode()

    def authorized(self):
        if auth == "none":
            return True
        h = self.headers.get("Authorization", "")
        if auth == "basic" and self.basic_ok():
            return True
        if auth == "bearer" and h == "Bearer " + TOKEN:
            return True
        host = self.headers.get("Host")
        challenge = 'Basic realm="test"' if auth == "basic" else \
            'Bearer realm="http://%s/token",service="test-registry",scope="repository:%s:pull"' % (host, repo)
        err = json.dumps({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}).encode()
        self.reply(401, err, extra=[("WWW-Authenticate", challenge)])
        return False

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        p = self.path
        if p.startswith("/token"):
            if user is not None and not self.basic_ok():
                return self.reply(401, b'{"details":"incorrect username or password"}')
            return self.reply(200, json.dumps({"token": TOKEN}).encode())
        if p.startswith("/_blob/"):
            return self.send_blob(p[len("/_blob/"):])
        if not self.authorized():
            return
        if p == "/v2/":
            return self.reply(200, b"{}")
        prefix = "/v2/%s/" % repo
        if not p.startswith(prefix):
            return self.reply(404, json.dumps({"errors": [{"code": "NAME_UNKNOWN", "message": "repository name not known to registry"}]}).encode())
        rest = p[len(prefix):]
        if rest.startswith("manifests/"):
            ref = rest[len("manifests/"):]
            if ref not in manifests:
                return self.reply(404, json.dumps({"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]}).encode())
            body, ctype = manifests[ref]
            return self.reply(200, body, ctype, [("Docker-Content-Digest", "sha256:" + hashlib.sha256(body).hexdigest())])
        if rest.startswith("blobs/"):
            d = rest[len("blobs/"):]
            if redirect:
                return self.reply(307, b"", extra=[("Location", "/_blob/" + d)])
            return self.send_blob(d)
        self.reply(404, b"{}")

    def send_blob(self, d):
        try:
            data = blob(d)
        except (OSError, IndexError):
            return self.reply(404, json.dumps({"errors": [{"code": "BLOB_UNKNOWN", "message": "blob unknown"}]}).encode())
        if corrupt and d == first_layer:
            data = data[:-1] + bytes([data[-1] ^ 1])
        self.reply(200, data, "application/octet-stream")

srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()

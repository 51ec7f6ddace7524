//! A real 3-member etcd cluster on loopback for the fleet tests: free ports picked at
//! run time, data in a temp dir, healthy before `start` returns, every member killed on
//! drop. Members can be killed one by one (no quorum after two). Without `etcd` (Debian's
//! `etcd-server`, installed by scripts/install-test-deps.sh) the tier is skipped with one
//! line on stderr, and with `CI=true` it fails instead.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

/// How long a fresh cluster may take to elect a leader on a loaded machine.
const HEALTHY_WITHIN: Duration = Duration::from_secs(30);

pub struct Member {
    pub name: String,
    pub client_url: String,
    /// Its TLS client URL, when the cluster was started with TLS.
    pub tls_url: Option<String>,
    child: Option<Child>,
}

pub struct Etcd {
    pub members: Vec<Member>,
    dir: tempfile::TempDir,
}

impl Drop for Etcd {
    fn drop(&mut self) {
        for m in &mut self.members {
            if let Some(mut c) = m.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

/// The `etcd` binary, or `None` after one line on stderr (a panic in CI).
fn binary() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("etcd"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let why =
            "etcd is not installed (scripts/install-test-deps.sh installs Debian's etcd-server)";
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the fleet tier is required in CI: {why}"
        );
        eprintln!("SKIPPED fleet test: {why}");
    }
    found
}

/// A loopback port nobody listens on now, below the kernel's ephemeral range: a port
/// from that range, freed again, can be taken by any outgoing connection (the suite's
/// own HTTP to etcd among them) before etcd binds it. The ports are spread by process
/// and taken in turn, so tests running at once do not pick the same ones; a clash that
/// remains makes a member fail to bind, and [`Etcd::launch`] starts again elsewhere.
fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const LOW: u32 = 20_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let high: u32 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .filter(|h| *h > LOW + 1_000)
        .unwrap_or(32_768);
    let span = high - LOW;
    let base = std::process::id().wrapping_mul(7_919) % span;
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = u16::try_from(LOW + (base + n * 13) % span).unwrap();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

impl Etcd {
    /// Starts three members and waits until each reports healthy; `None` when etcd is
    /// missing outside CI.
    pub fn start() -> Option<Etcd> {
        Etcd::launch(false)
    }

    /// The same, each member also serving TLS (a test CA's server certificate for
    /// 127.0.0.1) and requiring a client certificate there: [`Etcd::tls_file`] names the
    /// CA (`ca.pem`) and the client's `client.pem`/`client.key`. Plain HTTP stays open
    /// for the harness's own requests.
    pub fn start_tls() -> Option<Etcd> {
        Etcd::launch(true)
    }

    /// A file of the test PKI (`ca.pem`, `client.pem`, `client.key`).
    pub fn tls_file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The members' TLS client URLs.
    pub fn tls_endpoints(&self) -> Vec<String> {
        self.members
            .iter()
            .filter_map(|m| m.tls_url.clone())
            .collect()
    }

    /// Starts the cluster, again on other ports when a member could not bind its own.
    fn launch(tls: bool) -> Option<Etcd> {
        let bin = binary()?;
        let mut last = String::new();
        for _ in 0..3 {
            match Etcd::attempt(&bin, tls) {
                Ok(etcd) => return Some(etcd),
                Err(log) if log.contains("address already in use") => last = log,
                Err(log) => panic!("{log}"),
            }
        }
        panic!("etcd could not bind its ports three times; the last: {last}");
    }

    fn attempt(bin: &std::path::Path, tls: bool) -> Result<Etcd, String> {
        let dir = tempfile::tempdir().unwrap();
        if tls {
            make_pki(dir.path());
        }
        let ports: Vec<(u16, u16)> = (0..3).map(|_| (free_port(), free_port())).collect();
        let names: Vec<String> = (0..3).map(|i| format!("m{i}")).collect();
        let initial: Vec<String> = names
            .iter()
            .zip(&ports)
            .map(|(n, (_, peer))| format!("{n}=http://127.0.0.1:{peer}"))
            .collect();
        let token = dir
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        let mut members = Vec::new();
        for (name, (client, peer)) in names.iter().zip(&ports) {
            let client_url = format!("http://127.0.0.1:{client}");
            let tls_url = tls.then(|| format!("https://127.0.0.1:{}", free_port()));
            let clients = match &tls_url {
                Some(t) => format!("{client_url},{t}"),
                None => client_url.clone(),
            };
            let peer_url = format!("http://127.0.0.1:{peer}");
            let log = std::fs::File::create(dir.path().join(format!("{name}.log"))).unwrap();
            let mut cmd = Command::new(bin);
            if tls {
                let f = |n: &str| dir.path().join(n);
                cmd.arg("--cert-file")
                    .arg(f("server.pem"))
                    .arg("--key-file")
                    .arg(f("server.key"))
                    .arg("--trusted-ca-file")
                    .arg(f("ca.pem"))
                    .arg("--client-cert-auth");
            }
            let child = cmd
                .args(["--name", name])
                .arg("--data-dir")
                .arg(dir.path().join(name))
                .args(["--listen-client-urls", &clients])
                .args(["--advertise-client-urls", &clients])
                .args(["--listen-peer-urls", &peer_url])
                .args(["--initial-advertise-peer-urls", &peer_url])
                .args(["--initial-cluster", &initial.join(",")])
                .args(["--initial-cluster-state", "new"])
                .args(["--initial-cluster-token", &token])
                .args(["--logger", "zap", "--log-level", "warn"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap();
            members.push(Member {
                name: name.clone(),
                client_url,
                tls_url,
                child: Some(child),
            });
        }
        let mut etcd = Etcd { members, dir };
        let deadline = Instant::now() + HEALTHY_WITHIN;
        for i in 0..etcd.members.len() {
            loop {
                let m = &mut etcd.members[i];
                let healthy = get(&format!("{}/health", m.client_url))
                    .is_some_and(|b| b.contains("\"health\":\"true\""));
                if healthy {
                    break;
                }
                let exited = m
                    .child
                    .as_mut()
                    .is_some_and(|c| c.try_wait().ok().flatten().is_some());
                if exited || Instant::now() >= deadline {
                    let log =
                        std::fs::read_to_string(etcd.dir.path().join(format!("{}.log", m.name)))
                            .unwrap_or_default();
                    // Dropping `etcd` stops the other members.
                    return Err(format!(
                        "etcd member {} {}; its log: {log}",
                        m.name,
                        if exited {
                            "exited".to_string()
                        } else {
                            format!("not healthy within {HEALTHY_WITHIN:?}")
                        }
                    ));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(etcd)
    }

    /// Every member's client URL, for `fleet.endpoints`.
    pub fn endpoints(&self) -> Vec<String> {
        self.members.iter().map(|m| m.client_url.clone()).collect()
    }

    /// The `fleet:` section of a config pointing at this cluster under `prefix`.
    pub fn config(&self, prefix: &str, host: &str) -> String {
        format!(
            "fleet:\n  endpoints: [{}]\n  prefix: {prefix}\n  host: {host}\n",
            self.endpoints().join(", ")
        )
    }

    /// Kills member `i` (SIGKILL) and waits for it to be gone.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.members[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn kill_all(&mut self) {
        for i in 0..self.members.len() {
            self.kill(i);
        }
    }

    /// The first live member's client URL.
    fn live(&self) -> &str {
        &self
            .members
            .iter()
            .find(|m| m.child.is_some())
            .expect("a live member")
            .client_url
    }

    /// Writes `value` at `key` as any fleet member (or anyone with access) could; waits
    /// (bounded) while the cluster elects a new leader after a kill.
    pub fn put(&self, key: &str, value: &str) {
        let body = serde_json::json!({"key": B64.encode(key), "value": B64.encode(value)});
        let url = format!("{}/v3/kv/put", self.live());
        super::wait_for(
            &format!("etcd to take the put of {key}"),
            HEALTHY_WITHIN,
            || post(&url, &body.to_string()).filter(|r| r.contains("header")),
        );
    }

    /// Every key under `prefix` with its value (as text).
    pub fn range(&self, prefix: &str) -> Vec<(String, String)> {
        let mut end = prefix.as_bytes().to_vec();
        *end.last_mut().unwrap() += 1;
        let body = serde_json::json!({"key": B64.encode(prefix), "range_end": B64.encode(&end)});
        let reply = post(&format!("{}/v3/kv/range", self.live()), &body.to_string())
            .expect("etcd answers a range");
        let v: serde_json::Value = serde_json::from_str(&reply).unwrap();
        let text = |f: &serde_json::Value| {
            String::from_utf8(B64.decode(f.as_str().unwrap_or_default()).unwrap()).unwrap()
        };
        v["kvs"]
            .as_array()
            .map(|kvs| {
                kvs.iter()
                    .map(|kv| (text(&kv["key"]), text(&kv["value"])))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Turns on etcd's authentication with a `root` user whose password is `password`,
    /// and a `reader` (same password) who may only read keys under `/`.
    pub fn enable_auth(&self, password: &str) {
        let base = self.live();
        let all = B64.encode("/");
        let end = B64.encode("0");
        for (path, body) in [
            (
                "/v3/auth/user/add",
                serde_json::json!({"name": "reader", "password": password}),
            ),
            ("/v3/auth/role/add", serde_json::json!({"name": "ro"})),
            (
                "/v3/auth/role/grant",
                serde_json::json!({"name": "ro", "perm": {"permType": "READ", "key": all, "range_end": end}}),
            ),
            (
                "/v3/auth/user/grant",
                serde_json::json!({"user": "reader", "role": "ro"}),
            ),
            (
                "/v3/auth/user/add",
                serde_json::json!({"name": "root", "password": password}),
            ),
            (
                "/v3/auth/user/grant",
                serde_json::json!({"user": "root", "role": "root"}),
            ),
            ("/v3/auth/enable", serde_json::json!({})),
        ] {
            let reply = post(&format!("{base}{path}"), &body.to_string()).expect("etcd answers");
            assert!(!reply.contains("\"error\""), "{path}: {reply}");
        }
    }
}

/// A test CA, a server certificate for 127.0.0.1 and a client certificate, in `dir`
/// (P-256 keys: quick to make).
fn make_pki(dir: &std::path::Path) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &key,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=ccf-test-ca",
            ],
        ]
        .concat(),
    );
    // etcd's JSON gateway dials the member's own gRPC port with the server's
    // certificate as its client certificate: it needs both usages.
    for (who, usage) in [
        ("server", "serverAuth,clientAuth"),
        ("client", "clientAuth"),
    ] {
        let ext = format!("{who}.ext");
        std::fs::write(
            dir.join(&ext),
            format!("subjectAltName=IP:127.0.0.1\nextendedKeyUsage={usage}\n"),
        )
        .unwrap();
        let (k, csr, pem) = (
            format!("{who}.key"),
            format!("{who}.csr"),
            format!("{who}.pem"),
        );
        openssl(
            &[
                &["req"][..],
                &key,
                &["-keyout", &k, "-out", &csr, "-subj", &format!("/CN={who}")],
            ]
            .concat(),
        );
        openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            "2",
            "-extfile",
            &ext,
        ]);
    }
}

/// One HTTP/1.0 exchange on loopback (no client crate in the harness); the body, or
/// `None` when nothing answers.
fn exchange(url: &str, request: &str) -> Option<String> {
    let hostport = url.strip_prefix("http://")?.split('/').next()?;
    let mut s = TcpStream::connect_timeout(&hostport.parse().ok()?, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(request.as_bytes()).ok()?;
    let mut reply = String::new();
    s.read_to_string(&mut reply).ok()?;
    reply
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
}

fn path_of(url: &str) -> String {
    let rest = url.strip_prefix("http://").unwrap_or(url);
    rest.find('/').map_or("/".into(), |i| rest[i..].to_string())
}

pub fn get(url: &str) -> Option<String> {
    exchange(url, &format!("GET {} HTTP/1.0\r\n\r\n", path_of(url)))
}

pub fn post(url: &str, body: &str) -> Option<String> {
    exchange(
        url,
        &format!(
            "POST {} HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            path_of(url),
            body.len()
        ),
    )
}

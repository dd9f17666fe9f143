//! A real nginx (Debian's package) as a WebSocket reverse proxy in front of
//! several servers, configured as its documentation says (`proxy_http_version
//! 1.1`, `Upgrade` and `Connection` passed on), round robin, on a free
//! loopback port with its files in a directory of its own. `tests/hub/run.sh`
//! installs it.

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::real_proxy::{free_port, scratch_dir};

/// An nginx process.
pub struct RealNginx {
    child: Child,
    dir: PathBuf,
    /// Where it listens (loopback).
    pub addr: SocketAddr,
}

/// The configuration: `upstreams` round robin behind `port`. A server
/// that refuses a connection is skipped for 1 s (`max_fails=1
/// fail_timeout=1s`) and the request goes to the next.
pub fn config(dir: &std::path::Path, port: u16, upstreams: &[SocketAddr]) -> String {
    let servers: String = upstreams
        .iter()
        .map(|addr| format!("        server {addr} max_fails=1 fail_timeout=1s;\n"))
        .collect();
    let dir = dir.display();
    format!(
        "daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 4096; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
    upstream weft {{
{servers}    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://weft;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_read_timeout 3600s;
            proxy_send_timeout 3600s;
        }}
    }}
}}
"
    )
}

impl RealNginx {
    /// nginx on a free loopback port in front of `upstreams`.
    pub fn start(upstreams: &[SocketAddr]) -> RealNginx {
        let dir = scratch_dir("nginx");
        let port = free_port();
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, config(&dir, port, upstreams)).expect("nginx.conf");
        let mut child = Command::new("nginx")
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nginx (tests/hub/run.sh installs it)");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let start = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                let mut err = String::new();
                if let Some(mut stderr) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut stderr, &mut err);
                }
                panic!("nginx exited ({status}) before listening on {addr}: {err}");
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "nginx did not listen on {addr}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        RealNginx { child, dir, addr }
    }

    /// Its access log so far.
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default()
    }
}

impl Drop for RealNginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

//! The plain HTTP side of `weft serve`: the chat page's files (`--chat`),
//! the files of a directory (`--static DIR`), and ordinary answers to
//! everything else (404, 405, 426). Each answer closes its connection.

use std::io;
use std::path::{Component, Path, PathBuf};

use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The chat page, built into the binary.
const CHAT_FILES: [(&str, &str, &str); 3] = [
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("../../assets/chat/index.html"),
    ),
    (
        "/chat.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/chat/chat.css"),
    ),
    (
        "/chat.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/chat/chat.js"),
    ),
];

/// The path of the chat's WebSocket.
pub(crate) const CHAT_SOCKET: &str = "/ws";

/// What plain HTTP requests are answered with.
#[derive(Debug, Default)]
pub(crate) struct Site {
    /// The chat page at `/`.
    pub(crate) chat: bool,
    /// Files served from this directory.
    pub(crate) static_dir: Option<PathBuf>,
}

impl Site {
    /// Whether plain requests get anything but the engine's answer to a
    /// request that is no WebSocket handshake (400, naming what it lacks).
    pub(crate) fn serves_http(&self) -> bool {
        self.chat || self.static_dir.is_some()
    }

    /// Answers one plain request; the status sent.
    pub(crate) async fn answer<S: AsyncWrite + Unpin>(
        &self,
        stream: &mut S,
        method: &str,
        path: &str,
        query: Option<&str>,
    ) -> io::Result<u16> {
        let head_only = method == "HEAD";
        if method != "GET" && !head_only {
            let response = Response::text(405, "only GET and HEAD are served here\n")
                .header("Allow", "GET, HEAD");
            return response.send(stream, head_only).await;
        }
        if self.chat {
            let path = if path == "/index.html" { "/" } else { path };
            if let Some((_, kind, body)) = CHAT_FILES.iter().find(|(p, _, _)| *p == path) {
                let response = Response::new(200, kind, body.as_bytes().to_vec());
                return response.send(stream, head_only).await;
            }
            if path == CHAT_SOCKET {
                return upgrade_required().send(stream, head_only).await;
            }
        }
        if let Some(dir) = &self.static_dir {
            match resolve(dir, path).await {
                Some(Found::File(file)) => return send_file(stream, &file, head_only).await,
                // `/docs` is `/docs/`, so that the page's relative links
                // resolve inside it.
                Some(Found::Directory) => {
                    let location = match query {
                        Some(query) => format!("{path}/?{query}"),
                        None => format!("{path}/"),
                    };
                    let response = Response::text(301, "moved to the directory's address\n")
                        .header("Location", &location);
                    return response.send(stream, head_only).await;
                }
                None => {}
            }
        }
        Response::text(404, "not found\n")
            .send(stream, head_only)
            .await
    }
}

/// 426: a plain request where only a WebSocket is served.
fn upgrade_required() -> Response {
    Response::text(
        426,
        "this is a WebSocket endpoint; connect with ws:// or wss://\n",
    )
    .header("Upgrade", "websocket")
}

/// An answer, sent whole.
struct Response {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Response {
    fn new(status: u16, content_type: &str, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type", content_type.to_owned())],
            body,
        }
    }

    fn text(status: u16, body: &str) -> Response {
        Response::new(
            status,
            "text/plain; charset=utf-8",
            body.as_bytes().to_vec(),
        )
    }

    fn header(mut self, name: &'static str, value: &str) -> Response {
        self.headers.push((name, value.to_owned()));
        self
    }

    async fn send<S: AsyncWrite + Unpin>(self, stream: &mut S, head_only: bool) -> io::Result<u16> {
        let head = head(self.status, &self.headers, self.body.len() as u64);
        stream.write_all(head.as_bytes()).await?;
        if !head_only {
            stream.write_all(&self.body).await?;
        }
        stream.flush().await?;
        Ok(self.status)
    }
}

/// A response head: the status line, the headers given, the length, and
/// the headers every answer carries.
fn head(status: u16, headers: &[(&str, String)], len: u64) -> String {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {len}\r\nCache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n"
    ));
    head
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        404 => "Not Found",
        405 => "Method Not Allowed",
        426 => "Upgrade Required",
        _ => "",
    }
}

/// What a path names under the static directory.
#[derive(Debug, PartialEq)]
enum Found {
    /// A file to send.
    File(PathBuf),
    /// A directory with an index.html, named without its final `/`.
    Directory,
}

/// The file `path` names under `dir`: percent-decoded, no component that
/// leaves `dir` (`..`, an absolute path) or is hidden (`.git`, `.env`), a
/// directory's `index.html`. `None` when there is no such file.
async fn resolve(dir: &Path, path: &str) -> Option<Found> {
    let decoded = percent_decode(path)?;
    let relative = Path::new(decoded.trim_start_matches('/'));
    let plain = |c: Component<'_>| match c {
        Component::Normal(name) => !name.to_string_lossy().starts_with('.'),
        _ => false,
    };
    if !relative.components().all(plain) {
        return None;
    }
    let mut file = dir.join(relative);
    let metadata = tokio::fs::metadata(&file).await.ok()?;
    if metadata.is_dir() {
        file.push("index.html");
        if !tokio::fs::metadata(&file).await.ok()?.is_file() {
            return None;
        }
        if !decoded.ends_with('/') {
            return Some(Found::Directory);
        }
    } else if !metadata.is_file() {
        return None;
    }
    Some(Found::File(file))
}

/// `%XX` escapes decoded; `None` for a bad escape, a NUL or a result that
/// is not UTF-8.
fn percent_decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    if out.contains(&0) || out.contains(&b'\\') {
        return None;
    }
    String::from_utf8(out).ok()
}

/// The content type of a file, by its extension.
fn content_type(file: &Path) -> &'static str {
    let extension = file.extension().and_then(|e| e.to_str()).unwrap_or("");
    match extension.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "txt" | "md" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

/// A file, streamed (not read into memory).
async fn send_file<S: AsyncWrite + Unpin>(
    stream: &mut S,
    file: &Path,
    head_only: bool,
) -> io::Result<u16> {
    let mut opened = match tokio::fs::File::open(file).await {
        Ok(opened) => opened,
        Err(_) => {
            return Response::text(404, "not found\n")
                .send(stream, head_only)
                .await
        }
    };
    let len = opened.metadata().await?.len();
    let headers = [("Content-Type", content_type(file).to_owned())];
    stream
        .write_all(head(200, &headers, len).as_bytes())
        .await?;
    if !head_only {
        // No more than the length announced, should the file grow.
        let copied = tokio::io::copy(&mut (&mut opened).take(len), stream).await?;
        if copied < len {
            // It shrank: the answer cannot be completed.
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file shrank",
            ));
        }
    }
    stream.flush().await?;
    Ok(200)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_decoded_and_bad_ones_refused() {
        assert_eq!(percent_decode("/a%20b.txt").as_deref(), Some("/a b.txt"));
        assert_eq!(percent_decode("/%2e%2e/x").as_deref(), Some("/../x"));
        assert_eq!(percent_decode("/a%2"), None);
        assert_eq!(percent_decode("/a%00"), None);
        assert_eq!(percent_decode("/a%5c..%5cb"), None);
    }

    #[tokio::test]
    async fn nothing_outside_the_directory_is_served() {
        let dir = std::env::temp_dir().join(format!("weft-site-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::create_dir_all(dir.join(".git")).unwrap();
        std::fs::write(dir.join("sub/index.html"), "<p>hi</p>").unwrap();
        std::fs::write(dir.join("a.txt"), "a").unwrap();
        std::fs::write(dir.join(".env"), "secret").unwrap();
        std::fs::write(dir.join(".git/config"), "secret").unwrap();
        let file = |p: &str| Some(Found::File(dir.join(p)));
        assert_eq!(resolve(&dir, "/a.txt").await, file("a.txt"));
        assert_eq!(resolve(&dir, "/sub/").await, file("sub/index.html"));
        assert_eq!(resolve(&dir, "/sub").await, Some(Found::Directory));
        assert_eq!(resolve(&dir, "/").await, None);
        for hidden in ["/.env", "/.git/config", "/%2eenv"] {
            assert_eq!(resolve(&dir, hidden).await, None, "{hidden}");
        }
        for escape in [
            "/../a.txt",
            "/%2e%2e/a.txt",
            "/sub/../../etc/passwd",
            "//etc/passwd",
        ] {
            assert_eq!(resolve(&dir.join("sub"), escape).await, None, "{escape}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

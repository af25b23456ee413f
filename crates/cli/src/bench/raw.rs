//! A minimal raw NATS connection over tokio TCP, far lighter than a full client:
//! used to hold thousands of idle connections or a huge number of subscriptions.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// Small read buffer: held connections only ever see PING and the odd INFO.
const READ_BUFFER_BYTES: usize = 512;

pub struct RawConn {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    line: String,
}

fn protocol_error(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

impl RawConn {
    /// Connects, reads INFO, sends CONNECT and PING, and waits for the PONG.
    pub async fn handshake(addr: &str, name: &str, timeout: Duration) -> io::Result<RawConn> {
        Self::handshake_with_buffer(addr, name, timeout, READ_BUFFER_BYTES).await
    }

    /// Like [`RawConn::handshake`] with a read buffer of `buffer_bytes`.
    pub async fn handshake_with_buffer(
        addr: &str,
        name: &str,
        timeout: Duration,
        buffer_bytes: usize,
    ) -> io::Result<RawConn> {
        let connect = async {
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let (read_half, writer) = stream.into_split();
            let mut conn = RawConn {
                reader: BufReader::with_capacity(buffer_bytes, read_half),
                writer,
                line: String::new(),
            };
            conn.read_line().await?;
            if !conn.line.starts_with("INFO") {
                return Err(protocol_error(format!(
                    "expected INFO, got {:?}",
                    conn.line.trim_end()
                )));
            }
            let connect = format!(
                "CONNECT {{\"verbose\":false,\"pedantic\":false,\"lang\":\"rust\",\
                 \"version\":\"weir-bench\",\"protocol\":1,\"name\":\"{name}\"}}\r\n"
            );
            conn.writer.write_all(connect.as_bytes()).await?;
            conn.sync().await?;
            Ok(conn)
        };
        tokio::time::timeout(timeout, connect)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "handshake timed out"))?
    }

    async fn read_line(&mut self) -> io::Result<()> {
        self.line.clear();
        if self.reader.read_line(&mut self.line).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }

    /// Writes `data` in one go (no reads in between).
    pub async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.writer.write_all(data).await
    }

    /// Sends PING and waits for the matching PONG, answering server PINGs on the way.
    /// A `-ERR` from the server fails the sync.
    pub async fn sync(&mut self) -> io::Result<()> {
        self.writer.write_all(b"PING\r\n").await?;
        loop {
            self.read_line().await?;
            let line = self.line.trim_end();
            if line == "PONG" {
                return Ok(());
            } else if line == "PING" {
                self.writer.write_all(b"PONG\r\n").await?;
            } else if let Some(err) = line.strip_prefix("-ERR") {
                return Err(protocol_error(format!("server error:{err}")));
            }
            // +OK and INFO updates are ignored.
        }
    }

    /// Splits the connection: bytes already buffered, the read half and the write half.
    pub fn into_parts(self) -> (Vec<u8>, OwnedReadHalf, OwnedWriteHalf) {
        let leftover = self.reader.buffer().to_vec();
        (leftover, self.reader.into_inner(), self.writer)
    }

    /// Keeps the connection open, answering PINGs, until `stop` turns true or the server
    /// closes it. Returns true if the connection was still open when asked to stop.
    pub async fn hold(mut self, mut stop: watch::Receiver<bool>) -> bool {
        loop {
            tokio::select! {
                _ = async { let _ = stop.wait_for(|s| *s).await; } => return true,
                read = self.read_line() => {
                    if read.is_err() {
                        return false;
                    }
                    if self.line.trim_end() == "PING"
                        && self.writer.write_all(b"PONG\r\n").await.is_err()
                    {
                        return false;
                    }
                }
            }
        }
    }
}

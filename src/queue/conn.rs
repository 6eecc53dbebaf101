//! A Redis connection that outlives a Redis restart: an operation that fails on a dropped or
//! refused connection is retried on a new one, with backoff, for a bounded time.

use std::time::{Duration, Instant};

use redis::{Client, Connection, RedisResult, RetryMethod};

use super::QueueError;

/// Longest a reply may take; blocking commands in this module block for less.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// A lazily made, remade-on-failure connection.
pub struct Conn {
    client: Client,
    con: Option<Connection>,
    reconnect_for: Duration,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field(
                "server",
                &self.client.get_connection_info().addr().to_string(),
            )
            .field("connected", &self.con.is_some())
            .finish()
    }
}

impl Conn {
    pub(super) fn new(client: Client, reconnect_for: Duration) -> Conn {
        Conn {
            client,
            con: None,
            reconnect_for,
        }
    }

    fn connection(&mut self) -> RedisResult<&mut Connection> {
        if self.con.is_none() {
            let c = self
                .client
                .get_connection_with_timeout(Duration::from_secs(2))?;
            c.set_read_timeout(Some(READ_TIMEOUT))?;
            c.set_write_timeout(Some(READ_TIMEOUT))?;
            self.con = Some(c);
        }
        Ok(self.con.as_mut().expect("connected above"))
    }

    /// Runs `f` on the connection. While Redis is unreachable or loading its data, retries on
    /// a new connection with backoff for up to the reconnect bound; other errors return at
    /// once. `f` may therefore run more than once: it must be safe to repeat.
    pub fn run<T>(
        &mut self,
        op: &'static str,
        mut f: impl FnMut(&mut Connection) -> RedisResult<T>,
    ) -> Result<T, QueueError> {
        let deadline = Instant::now() + self.reconnect_for;
        let mut backoff = Duration::from_millis(20);
        loop {
            let res = self.connection().and_then(&mut f);
            match res {
                Ok(v) => return Ok(v),
                Err(e) => {
                    let transient = !matches!(e.retry_method(), RetryMethod::NoRetry);
                    if transient {
                        self.con = None;
                    }
                    if !transient || Instant::now() + backoff > deadline {
                        return Err(QueueError::Redis { op, error: e });
                    }
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
        }
    }
}

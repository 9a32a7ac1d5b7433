//! Small I/O helpers shared by the clients.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::Poll;

use tokio::io::{AsyncRead, ReadBuf};

/// Reads and discards whatever the stream has ready now, without waiting; returns the count.
/// Stops at EOF (the next real read reports it) and after 64 reads so a babbling peer on an
/// in-memory stream cannot keep it looping.
pub(crate) async fn drain_ready<T: AsyncRead + Unpin>(io: &mut T) -> io::Result<usize> {
    poll_fn(|cx| {
        let mut total = 0;
        let mut buf = [0u8; 256];
        for _ in 0..64 {
            let mut rb = ReadBuf::new(&mut buf);
            match Pin::new(&mut *io).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) if rb.filled().is_empty() => break,
                Poll::Ready(Ok(())) => total += rb.filled().len(),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => break,
            }
        }
        Poll::Ready(Ok(total))
    })
    .await
}

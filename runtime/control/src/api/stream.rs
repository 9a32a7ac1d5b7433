//! `GET /api/v1/events`: Server-Sent Events, one `data:` JSON object per drive or supervisor
//! event, from the moment of the request on.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use futures_util::stream;
use tokio::sync::broadcast::error::RecvError;

use crate::auth::{Caller, Role};
use crate::error::ApiError;
use crate::state::AppState;

pub(crate) async fn events(
    caller: Caller,
    State(s): State<AppState>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    caller.require(Role::Viewer, "follow events")?;
    // One permit per open stream, held by the stream: a browser left with many tabs, or a
    // client that reconnects in a loop, cannot hold the process's sockets.
    let permit = Arc::clone(&s.streams).try_acquire_owned().map_err(|_| {
        ApiError::Unavailable(format!(
            "too many event streams open ({}); close one",
            s.streams_max
        ))
    })?;
    let rx = s.feed.subscribe();
    let closing = s.closing.subscribe();
    let state = (rx, closing, permit);
    let stream = stream::unfold(state, |(mut rx, mut closing, permit)| async move {
        let received = tokio::select! {
            r = rx.recv() => r,
            _ = closing.wait_for(|c| *c) => return None,
        };
        let data: Arc<str> = match received {
            Ok(text) => text,
            // A slow client is told how much it missed instead of being cut off.
            Err(RecvError::Lagged(n)) => {
                format!(r#"{{"source":"api","kind":"lagged","missed":{n}}}"#).into()
            }
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(Event::default().data(&*data)), (rx, closing, permit)))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

//! The operator's dashboard: its page and files, browser sessions, the journal view and the
//! live stream (filled in by the next commit).

/// What the dashboard keeps beside the API's state.
#[derive(Debug, Default)]
pub(crate) struct WebState {}

impl WebState {
    pub(crate) fn new() -> Self {
        Self::default()
    }
}

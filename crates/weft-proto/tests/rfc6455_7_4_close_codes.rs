//! RFC 6455 7.4: status codes, as they are shown to people and classified
//! for a client deciding whether to connect again.

use weft_proto::{CloseCode, CloseFrame, CloseReason, ProtocolError, Timeout};

#[test]
fn a_close_code_displays_its_number_name_and_meaning() {
    assert_eq!(
        CloseCode::ABNORMAL.to_string(),
        "1006 abnormal closure: the connection ended without a close frame"
    );
    assert_eq!(
        CloseCode::TRY_AGAIN_LATER.to_string(),
        "1013 try again later: the service is overloaded; try again later"
    );
    assert_eq!(
        CloseCode::from(3001).to_string(),
        "3001 (a library's or framework's code)"
    );
    assert_eq!(
        CloseCode::from(4321).to_string(),
        "4321 (an application's code)"
    );
    assert_eq!(CloseCode::from(2000).to_string(), "2000");
    // Every registered code has both a name and a meaning.
    for code in (1000..=1015).map(CloseCode::from) {
        assert_eq!(code.name().is_some(), code.meaning().is_some(), "{code:?}");
    }
}

#[test]
fn a_close_frame_displays_the_code_name_and_reason() {
    assert_eq!(
        CloseFrame::new(CloseCode::NORMAL, "bye").to_string(),
        "1000 normal closure: \"bye\""
    );
    assert_eq!(
        CloseFrame::new(CloseCode::from(4000), "").to_string(),
        "4000"
    );
}

#[test]
fn codes_that_pass_are_retryable_and_codes_that_would_recur_are_not() {
    for code in [1001, 1006, 1011, 1012, 1013, 1014] {
        assert_eq!(CloseCode::from(code).is_retryable(), Some(true), "{code}");
    }
    for code in [1000, 1002, 1003, 1005, 1007, 1008, 1009, 1010, 1015] {
        assert_eq!(CloseCode::from(code).is_retryable(), Some(false), "{code}");
    }
    for code in [3000, 3999, 4000, 4999] {
        assert_eq!(CloseCode::from(code).is_retryable(), None, "{code}");
    }
}

#[test]
fn the_end_of_a_connection_is_classified_like_its_code() {
    let clean = |code: u16| CloseReason::Clean(CloseFrame::new(CloseCode::from(code), ""));
    assert_eq!(clean(1000).is_retryable(), Some(false));
    assert_eq!(clean(1001).is_retryable(), Some(true));
    assert_eq!(clean(1012).is_retryable(), Some(true));
    assert_eq!(clean(1008).is_retryable(), Some(false));
    assert_eq!(clean(4000).is_retryable(), None);
    assert_eq!(CloseReason::Abnormal.is_retryable(), Some(true));
    for timeout in [Timeout::Close, Timeout::Pong, Timeout::Idle] {
        assert_eq!(CloseReason::TimedOut(timeout).is_retryable(), Some(true));
    }
    let violation = CloseReason::Protocol(ProtocolError::InvalidUtf8);
    assert_eq!(violation.is_retryable(), Some(false));
}

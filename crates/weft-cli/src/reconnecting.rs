//! `weft connect --reconnect`: the same client over Weft's reconnecting
//! client, with what happens to the connection on stderr.

use std::collections::{HashMap, VecDeque};
use std::io::IsTerminal;

use weft_io::ClientOptions;
use weft_tokio::reconnect::{
    self, ClientEvent, Disconnect, MessageId, ReconnectOptions, ReconnectPolicy, ReconnectingClient,
};
use weft_tokio::Message;

use crate::client_flags::seconds;
use crate::connect::{print_message, to_message, ConnectArgs};
use crate::exit::Exit;
use crate::jsonl;
use crate::stdin_lines::StdinLines;
use serde_json::json;

/// The backoff policy the flags describe.
fn policy(args: &ConnectArgs) -> Result<ReconnectPolicy, String> {
    let mut policy = ReconnectPolicy::default().max_attempts(args.max_attempts);
    if let Some(s) = args.backoff_initial {
        policy = policy.initial_delay(seconds("backoff-initial", s)?);
    }
    if let Some(s) = args.backoff_max {
        policy = policy.max_delay(seconds("backoff-max", s)?);
    }
    Ok(policy)
}

/// A data message's payload, what its echo is matched by; empty for the
/// others.
fn payload(message: &Message) -> &[u8] {
    match message {
        Message::Text(text) => text.as_bytes(),
        Message::Binary(data) => data,
        _ => &[],
    }
}

/// Runs `weft connect --reconnect`.
pub(crate) async fn run(args: ConnectArgs, options: ClientOptions) -> Exit {
    let policy = match policy(&args) {
        Ok(policy) => policy,
        Err(e) => {
            eprintln!("weft: {e}");
            return Exit::Usage;
        }
    };
    if args.jsonl {
        jsonl::enable();
    }
    let mut client = reconnect::connect(args.url.clone())
        .options(options)
        .reconnect(ReconnectOptions::new().policy(policy))
        .start();
    let interactive = std::io::stdin().is_terminal();
    let mut lines = StdinLines::new();
    let mut reading_stdin = true;
    // With --resend-until-echo: the ids of the messages sent and not yet
    // echoed, by payload (the same line twice waits for two echoes).
    let mut unechoed: HashMap<Vec<u8>, VecDeque<MessageId>> = HashMap::new();
    let mut waiting = 0usize;
    // A line the queue had no room for: stdin is not read until it is in,
    // so that nothing typed or piped is lost to a full queue.
    let mut pending: Option<Message> = None;
    let mut closing = false;
    loop {
        tokio::select! {
            line = lines.next(), if reading_stdin && pending.is_none() => match line {
                Some(line) => match to_message(&args, &line, interactive) {
                    Ok(Some(Message::Close(frame))) => {
                        reading_stdin = false;
                        closing = true;
                        client.close(frame);
                    }
                    Ok(Some(message)) => {
                        pending = offer(&client, &args, message, &mut unechoed, &mut waiting, &mut lines);
                    }
                    Ok(None) => {}
                    Err(e) if interactive => eprintln!("weft: {e}"),
                    Err(e) => lines.not_sent(&e),
                },
                // The end of stdin: the client closes once every line is
                // queued (and echoed, with --resend-until-echo), below.
                None => reading_stdin = false,
            },
            event = client.next_event() => match event {
                Some(ClientEvent::Message(message)) => {
                    if let Some(ids) = unechoed.get_mut(payload(&message)) {
                        if let Some(id) = ids.pop_front() {
                            client.ack(id);
                            waiting -= 1;
                        }
                    }
                    print_message(&args, message);
                }
                Some(ClientEvent::Connecting { attempt }) => {
                    eprintln!("weft: connecting (attempt {attempt})");
                    if args.jsonl {
                        jsonl::state("connecting", json!({ "url": args.url, "attempt": attempt }));
                    }
                }
                Some(ClientEvent::Connected { response, .. }) => {
                    eprintln!("weft: connected");
                    if args.jsonl {
                        jsonl::open(&args.url, &response);
                    }
                }
                Some(ClientEvent::Disconnected { cause, retry_in }) => {
                    eprintln!("weft: {cause}; reconnecting in {retry_in:.1?}");
                    if args.jsonl {
                        let retry_in = retry_in.as_secs_f64();
                        jsonl::state("disconnected", json!({ "cause": cause.to_string(), "retry_in": retry_in }));
                    }
                }
                Some(ClientEvent::Dropped(id)) => {
                    lines.dropped(&id.to_string());
                    if args.jsonl {
                        jsonl::emit("dropped", json!({ "id": id.to_string() }));
                    }
                }
                Some(ClientEvent::GaveUp { cause }) => {
                    eprintln!("weft: giving up: {cause}");
                    let exit = match &cause {
                        Disconnect::Failed(e) => Exit::of_error(e),
                        Disconnect::Closed(reason) => Exit::of_close(Some(reason)),
                        _ => Exit::Abnormal,
                    };
                    if args.jsonl {
                        let fields = json!({ "cause": cause.to_string(), "exit": exit.code(), "class": exit.name() });
                        jsonl::state("gave-up", fields);
                    }
                    return exit;
                }
                Some(ClientEvent::Closed(reason)) => {
                    if args.verbose > 0 {
                        if let Some(reason) = &reason {
                            eprintln!("weft: {reason}");
                        }
                    }
                    let exit = match &reason {
                        Some(reason) => Exit::of_close(Some(reason)),
                        // Closed while disconnected: the application's
                        // choice, not a failure.
                        None => Exit::Ok,
                    };
                    let exit = lines.exit(exit);
                    if args.jsonl {
                        jsonl::closed(reason.as_ref(), exit);
                    }
                    return exit;
                }
                Some(_) => {}
                None => return Exit::Ok,
            }
        }
        // Room may have freed up (a message written, acknowledged or
        // dropped): the line waiting goes in.
        if let Some(message) = pending.take() {
            pending = offer(
                &client,
                &args,
                message,
                &mut unechoed,
                &mut waiting,
                &mut lines,
            );
        }
        if !reading_stdin && pending.is_none() && waiting == 0 && !closing {
            closing = true;
            client.close(None);
        }
    }
}

/// Puts a line's message in the client's queue (to be acknowledged by its
/// echo with --resend-until-echo); gives it back if the queue is full.
fn offer(
    client: &ReconnectingClient,
    args: &ConnectArgs,
    message: Message,
    unechoed: &mut HashMap<Vec<u8>, VecDeque<MessageId>>,
    waiting: &mut usize,
    lines: &mut StdinLines,
) -> Option<Message> {
    let key = payload(&message).to_vec();
    let sent = if args.resend_until_echo {
        client.send_reliable(message)
    } else {
        client.send(message)
    };
    match sent {
        Ok(pushed) => {
            if args.resend_until_echo {
                unechoed.entry(key).or_default().push_back(pushed.id);
                *waiting += 1;
            }
            None
        }
        Err(full) if !full.is_unqueueable() => Some(full.message),
        Err(e) => {
            lines.not_sent(&e.to_string());
            None
        }
    }
}

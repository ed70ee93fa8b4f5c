//! The WebSub callback, `/websub/<callback id>` on the operations listener: a hub's GET
//! verifies intent (the challenge is echoed only for what newshound asked), its POST delivers
//! content (refused unless the body fits in `MAX_PUSH_BYTES` and its `X-Hub-Signature` is the
//! HMAC under that subscription's secret). These routes need no token: the random callback id
//! and the per-subscription secret are the authentication.

use chrono::Utc;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};

use super::http::text;
use super::metrics::{metrics, PushResult};
use crate::push::{PushInbox, Pushed};
use crate::sources::websub::{
    verify_intent, verify_signature, Intent, PushState, Subscription, Verdict, MAX_PUSH_BYTES,
};
use crate::store::Store;

/// Answers one request to a callback.
pub async fn handle(
    store: &Store,
    inbox: &PushInbox,
    callback_id: &str,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    match *req.method() {
        Method::GET => verify(store, inbox, callback_id, &req).await,
        Method::POST => deliver(store, inbox, callback_id, req).await,
        _ => {
            let mut response = text(
                StatusCode::METHOD_NOT_ALLOWED,
                "a WebSub callback takes GET (verification) and POST (content)\n",
            );
            response
                .headers_mut()
                .insert("allow", HeaderValue::from_static("GET, POST"));
            response
        }
    }
}

async fn verify(
    store: &Store,
    inbox: &PushInbox,
    callback_id: &str,
    req: &Request<Incoming>,
) -> Response<Full<Bytes>> {
    let Some(intent) = req.uri().query().and_then(Intent::from_query) else {
        return text(
            StatusCode::BAD_REQUEST,
            "a verification needs hub.mode and hub.topic\n",
        );
    };
    let row = match store.push_by_callback(callback_id.to_string()).await {
        Ok(row) => row,
        Err(e) => return unavailable(&e),
    };
    let stored = row.as_ref().map(|r| Subscription {
        topic: r.topic.clone(),
        state: r.state,
    });
    let now = Utc::now();
    let written = match verify_intent(stored.as_ref(), &intent, now) {
        Verdict::Refuse(reason) => {
            tracing::info!(mode = %intent.mode, %reason, "refused a WebSub verification");
            return text(StatusCode::NOT_FOUND, format!("not verified: {reason}\n"));
        }
        Verdict::Confirm {
            challenge,
            lease_ends,
        } => store
            .push_verified(callback_id.to_string(), now, lease_ends)
            .await
            .map(|()| {
                tracing::info!(topic = %intent.topic, lease_ends = %lease_ends, "WebSub subscription verified; pushes are accepted");
                challenge
            }),
        Verdict::ConfirmUnsubscribe { challenge } => match &row {
            Some(r) => store.forget_push(r.source_id).await.map(|()| {
                tracing::info!(topic = %intent.topic, "WebSub unsubscription verified");
                challenge
            }),
            None => Ok(challenge),
        },
        Verdict::Denied { reason } => store
            .push_denied(callback_id.to_string(), reason.clone())
            .await
            .map(|()| {
                tracing::warn!(topic = %intent.topic, %reason, "the hub denied the WebSub subscription; polling continues");
                String::new()
            }),
    };
    match written {
        Ok(body) => {
            inbox.changed.notify_one();
            text(StatusCode::OK, body)
        }
        Err(e) => unavailable(&e),
    }
}

async fn deliver(
    store: &Store,
    inbox: &PushInbox,
    callback_id: &str,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let m = metrics();
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_PUSH_BYTES as u64) {
        m.push_result(PushResult::too_large);
        return text(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("a push may be at most {MAX_PUSH_BYTES} bytes\n"),
        );
    }
    let row = match store.push_by_callback(callback_id.to_string()).await {
        Ok(Some(row)) if row.state == PushState::Active => row,
        Ok(_) => {
            m.push_result(PushResult::unknown_topic);
            return text(
                StatusCode::NOT_FOUND,
                "no verified subscription at this callback\n",
            );
        }
        Err(e) => return unavailable(&e),
    };
    let signature = req
        .headers()
        .get("x-hub-signature")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = match Limited::new(req.into_body(), MAX_PUSH_BYTES)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            m.push_result(PushResult::too_large);
            return text(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("a push may be at most {MAX_PUSH_BYTES} bytes\n"),
            );
        }
        Err(_) => {
            return text(StatusCode::BAD_REQUEST, "the body could not be read\n");
        }
    };
    if let Err(e) = verify_signature(signature.as_deref(), row.secret.as_bytes(), &body) {
        m.push_result(PushResult::bad_signature);
        tracing::warn!(source = %row.source_id, reason = %e, "refused a WebSub push");
        return text(StatusCode::FORBIDDEN, format!("refused: {e}\n"));
    }
    let pushed = Pushed {
        source_id: row.source_id,
        body: body.to_vec(),
        content_type,
    };
    if inbox.queue.try_send(pushed).is_ok() {
        m.push_result(PushResult::accepted);
        return text(StatusCode::ACCEPTED, "accepted\n");
    }
    m.push_result(PushResult::busy);
    let mut response = text(StatusCode::SERVICE_UNAVAILABLE, "busy: try again shortly\n");
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("30"));
    response
}

fn unavailable(e: &crate::store::StoreError) -> Response<Full<Bytes>> {
    tracing::warn!(error = %e, "WebSub callback: the store did not answer");
    text(
        StatusCode::SERVICE_UNAVAILABLE,
        "the database does not answer; try again later\n",
    )
}

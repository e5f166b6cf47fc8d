//! A panic in a request handler answers `500 application/problem+json`, like any internal
//! error; the connection stays open and the worker keeps serving.
//!
//! Without this, a panic unwinds through actix-web's dispatcher: the worker thread dies with
//! every connection it holds, and the client sees the connection dropped. The middleware
//! catches the unwind of the inner service's future (and of its `call`) and turns it into an
//! error, which the dispatcher renders as a response. It needs no copy of the request: a
//! second handle on it would break the router, which needs the only one.

use std::future::{Future, Ready, ready};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;

use actix_web::Error;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use futures_util::FutureExt;

use crate::error::ApiError;

/// Wrap the app with this (innermost, so that the error answer passes the other middleware).
pub struct CatchPanic;

impl<S, B> Transform<S, ServiceRequest> for CatchPanic
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = CatchPanicService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(CatchPanicService { service }))
    }
}

pub struct CatchPanicService<S> {
    service: S,
}

impl<S, B> Service<ServiceRequest> for CatchPanicService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let method = req.method().clone();
        let path = req.path().to_owned();
        let fut = match std::panic::catch_unwind(AssertUnwindSafe(|| self.service.call(req))) {
            Ok(fut) => fut,
            Err(payload) => return Box::pin(ready(Err(panicked(&method, &path, &*payload)))),
        };
        Box::pin(async move {
            match AssertUnwindSafe(fut).catch_unwind().await {
                Ok(result) => result,
                Err(payload) => Err(panicked(&method, &path, &*payload)),
            }
        })
    }
}

/// Logs the panic and makes the 500 answer.
fn panicked(
    method: &actix_web::http::Method,
    path: &str,
    payload: &(dyn std::any::Any + Send),
) -> Error {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned());
    tracing::error!(%method, path, panic = %message, "a request handler panicked");
    ApiError::Internal(anyhow::anyhow!("a request handler panicked: {message}")).into()
}

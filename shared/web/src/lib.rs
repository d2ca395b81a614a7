//! The HTTP edge every function shares: the one error shape, request extractors that answer
//! in that shape, authentication, request ids and the outer layers of a router.
//!
//! A function builds its routes and passes them through [`finish`]; everything a client can
//! get wrong (bad JSON, wrong content type, oversized body, unknown route, wrong method, no
//! token) is then answered as `{"errors":[{"error_key":..,"category":..,"message":..}]}`.

mod body;
mod error;
mod extract;
pub mod html;
mod layers;
pub mod openapi;
pub mod routes;

pub use body::JsonBody;
pub use error::ApiError;
pub use extract::{Caller, Ctx, JsonObject, PathParam, QueryParams, ReqId, presented_token};
pub use layers::{MAX_BODY_BYTES, REQUEST_ID, RequestId, finish};

//! The devserver: every function's routes on the embedded adapters, in one local process,
//! plus development tools (`GET /_dev/outbox`). Nothing here is deployed.

use std::path::Path;
use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use prov_core::clock::Clock;
use prov_core::mail::MailQueue;
use prov_core::store::ItemStore;
use prov_core::{Services, Settings};
use prov_platform::LocalOutbox;
use prov_store::EmbeddedStore;
use prov_web::ApiError;
use serde_json::json;

/// What a local run is made of.
#[derive(Clone)]
pub struct Local {
    pub services: Services,
    pub outbox: LocalOutbox,
}

impl Local {
    /// Opens the embedded store under `data_dir` (created if missing).
    pub fn open(data_dir: &Path, public_base_url: &str, clock: Arc<dyn Clock>) -> Result<Self, String> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
        let store: Arc<dyn ItemStore> =
            Arc::new(EmbeddedStore::open(data_dir.join("store.redb")).map_err(|e| e.to_string())?);
        let outbox = LocalOutbox::new(store.clone(), clock.clone());
        let services = Services::new(
            store.clone(),
            store,
            Arc::new(outbox.clone()),
            clock,
            Settings::new(public_base_url),
        );
        Ok(Self { services, outbox })
    }

    /// Sends whatever the mail queue still holds (e.g. after a crash mid-request).
    pub async fn drain_mail(&self) -> Result<usize, prov_core::Error> {
        MailQueue::drain(self.services.store.as_ref(), self.services.mailer.as_ref()).await
    }

    /// Every function's routes plus the dev tools, with the shared outer layers.
    pub fn app(&self) -> Router {
        let dev = Router::new()
            .route("/_dev/outbox", get(outbox))
            .with_state(self.outbox.clone());
        prov_web::finish(
            provision::routes(self.services.clone())
                .merge(accounts::routes(self.services.clone()))
                .merge(dev),
        )
    }
}

/// The emails "sent" so far, newest first.
async fn outbox(State(outbox): State<LocalOutbox>) -> Result<Json<serde_json::Value>, ApiError> {
    let items = outbox.recent(100).await?;
    Ok(Json(json!({ "items": items })))
}

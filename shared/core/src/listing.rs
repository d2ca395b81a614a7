//! The one pagination convention of every list route.
//!
//! A list route takes `?limit=` (1 to 100, default 25) and `?cursor=` (the `next_cursor` of
//! the previous page, opaque) and answers `{"items": [...], "next_cursor": "..." | null}`.
//! `next_cursor` is present exactly when more items follow.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store::{Cursor, Page, PageRequest};

pub const DEFAULT_LIMIT: u32 = 25;
pub const MAX_LIMIT: u32 = 100;

/// The query string of a list route, as received.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

impl ListQuery {
    fn limit(&self) -> Result<u32> {
        match &self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(raw) => match raw.parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
                _ => Err(Error::invalid(
                    "limit",
                    format!("`limit` must be a whole number from 1 to {MAX_LIMIT}."),
                )),
            },
        }
    }

    /// The store request for this query, or a refusal of a bad `limit`. A bad cursor is
    /// refused when the store decodes it.
    pub fn page_request(&self) -> Result<PageRequest> {
        Ok(PageRequest::first(self.limit()?).after(self.cursor.clone().map(Cursor::from_client)))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T: DeserializeOwned> Listing<T> {
    pub fn from_page(page: Page) -> Result<Self> {
        let items = page
            .items
            .iter()
            .map(|i| i.record())
            .collect::<Result<Vec<T>, _>>()?;
        Ok(Self {
            items,
            next_cursor: page.next.map(|c| c.as_str().to_owned()),
        })
    }
}

impl<T> Listing<T> {
    /// The same page with each item turned into its view.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Listing<U> {
        Listing {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

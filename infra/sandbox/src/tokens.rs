//! The tokens the sandbox's authorization servers issued: each access and refresh token with
//! the tenant (directory) it opens, until it expires, is used up or is revoked.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

#[derive(Default)]
pub(crate) struct Tokens {
    /// Valid access and refresh tokens, each with the tenant it opens: the vendor whose token
    /// endpoint issued it, so each fake keeps its own users.
    access: HashMap<String, String>,
    refresh: HashMap<String, String>,
    counter: u64,
    /// How many refresh grants were answered.
    refreshes: usize,
}

impl Tokens {
    /// A new unguessable value of a kind (`at`, `rt`, `code`, `req`), numbered in issue order.
    pub(crate) fn mint(&mut self, kind: &str) -> String {
        self.counter += 1;
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).expect("random source");
        format!("sbx-{kind}-{}-{}", self.counter, URL_SAFE_NO_PAD.encode(random))
    }

    /// A new access token and refresh token opening `tenant`.
    pub(crate) fn issue(&mut self, tenant: &str) -> (String, String) {
        let access = self.mint("at");
        let refresh = self.mint("rt");
        self.access.insert(access.clone(), tenant.to_owned());
        self.refresh.insert(refresh.clone(), tenant.to_owned());
        (access, refresh)
    }

    /// The tenant a valid access token opens.
    pub(crate) fn access_tenant(&self, token: &str) -> Option<String> {
        self.access.get(token).cloned()
    }

    /// The tenant a valid refresh token opens.
    pub(crate) fn refresh_tenant(&self, token: &str) -> Option<String> {
        self.refresh.get(token).cloned()
    }

    /// Uses a refresh token up (it works once: rotation), counting the refresh.
    pub(crate) fn redeem(&mut self, refresh: &str) {
        self.refresh.remove(refresh);
        self.refreshes += 1;
    }

    /// Keeps `refresh` valid instead of `issued`, for the tenant `issued` opens (a vendor that
    /// does not rotate refresh tokens: the token refreshed stays the one to use).
    pub(crate) fn keep_refresh(&mut self, refresh: String, issued: &str) {
        if let Some(tenant) = self.refresh.remove(issued) {
            self.refresh.insert(refresh, tenant);
        }
    }

    pub(crate) fn refreshes(&self) -> usize {
        self.refreshes
    }

    /// Every access and refresh token now valid.
    pub(crate) fn live(&self) -> Vec<String> {
        self.access.keys().chain(self.refresh.keys()).cloned().collect()
    }

    pub(crate) fn expire_access_tokens(&mut self) {
        self.access.clear();
    }

    pub(crate) fn revoke_all(&mut self) {
        self.access.clear();
        self.refresh.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_refresh_token_keeps_the_tenant_it_opened() {
        let mut tokens = Tokens::default();
        let (_, first) = tokens.issue("oauth:google_workspace#other");
        // A refresh: the presented token is used up and a new pair issued for its tenant,
        // then the vendor keeps the presented one instead of the new one.
        let opened = tokens.refresh_tenant(&first).unwrap();
        tokens.redeem(&first);
        let (_, issued) = tokens.issue(&opened);
        tokens.keep_refresh(first.clone(), &issued);
        assert_eq!(
            tokens.refresh_tenant(&first).as_deref(),
            Some("oauth:google_workspace#other")
        );
        assert_eq!(tokens.refresh_tenant(&issued), None);
    }
}

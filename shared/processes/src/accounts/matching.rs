//! Matching vendor accounts to team members: names and emails normalised once, indexed, and
//! compared in one pass (linear in the number of accounts and people).

use prov_core::team::TeamMember;
use prov_core::values;

use super::records::{AppAccount, Suggestion};

/// Writes the words of `parts` to `out`, one space between words, lower-cased: the form names
/// are compared in. ASCII (nearly every name) is handled as bytes, a word at a time; other
/// text is lower-cased as a whole, so context-dependent rules (a final sigma) still apply.
pub(super) fn normalise_into(out: &mut Vec<u8>, parts: &[&str]) {
    out.clear();
    if parts.iter().all(|p| p.is_ascii()) {
        // ASCII's whitespace is exactly what `char::is_whitespace` says of it.
        let words = parts.iter().flat_map(|p| {
            p.as_bytes()
                .split(|b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
                .filter(|w| !w.is_empty())
        });
        for word in words {
            if !out.is_empty() {
                out.push(b' ');
            }
            out.extend_from_slice(word);
        }
        out.make_ascii_lowercase();
    } else {
        let words = parts.iter().flat_map(|p| p.split_whitespace());
        out.extend_from_slice(words.collect::<Vec<_>>().join(" ").to_lowercase().as_bytes());
    }
}

/// Where a full name comes from: a first name followed by the last name, or one whole name.
#[derive(Clone, Copy)]
pub(super) enum FullName<'a> {
    FirstLast(&'a str),
    Whole(&'a str),
}

/// What an account and a team member are compared by (UTF-8 bytes); an empty field is an
/// absent one. The buffers are reused from one account to the next, so matching a sync
/// allocates little.
#[derive(Default)]
pub(super) struct Identity {
    /// `values::email_key` of the email.
    email: Vec<u8>,
    full_name: Vec<u8>,
    last_name: Vec<u8>,
}

impl Identity {
    pub(super) fn of_member(tm: &TeamMember) -> Self {
        let mut id = Identity::default();
        id.fill(
            tm.email.as_deref(),
            FullName::FirstLast(&tm.first_name),
            Some(&tm.last_name),
        );
        id
    }

    pub(super) fn fill_from_account(&mut self, a: &AppAccount) {
        let last = a.last_name.as_deref();
        let full = match (&a.first_name, last) {
            (Some(f), Some(_)) => FullName::FirstLast(f),
            _ => FullName::Whole(a.display_name.as_deref().unwrap_or("")),
        };
        self.fill(a.email.as_deref(), full, last);
    }

    pub(super) fn fill(&mut self, email: Option<&str>, full_name: FullName<'_>, last_name: Option<&str>) {
        self.email.clear();
        if let Some(e) = email.map(str::trim) {
            if e.is_ascii() {
                self.email.extend_from_slice(e.as_bytes());
                self.email.make_ascii_lowercase();
            } else {
                self.email.extend_from_slice(values::email_key(e).as_bytes());
            }
        }
        normalise_into(&mut self.last_name, &[last_name.unwrap_or("")]);
        match full_name {
            FullName::Whole(name) => normalise_into(&mut self.full_name, &[name]),
            // The normalised last name is the full name's tail: words are normalised one by
            // one, so it need not be done twice.
            FullName::FirstLast(first) => {
                normalise_into(&mut self.full_name, &[first]);
                if !self.last_name.is_empty() {
                    if !self.full_name.is_empty() {
                        self.full_name.push(b' ');
                    }
                    self.full_name.extend_from_slice(&self.last_name);
                }
            }
        }
    }

    pub(super) fn email(&self) -> Option<&[u8]> {
        Some(self.email.as_slice()).filter(|e| !e.is_empty())
    }

    /// The email's name (before the `@`).
    pub(super) fn local_part(&self) -> Option<&[u8]> {
        self.email().and_then(|e| e.split(|b| *b == b'@').next())
    }

    pub(super) fn full_name(&self) -> Option<&[u8]> {
        Some(self.full_name.as_slice()).filter(|n| !n.is_empty())
    }

    pub(super) fn last_name(&self) -> Option<&[u8]> {
        Some(self.last_name.as_slice()).filter(|n| !n.is_empty())
    }
}

/// What matching makes of each account: the team member whose name and email both agree
/// (if exactly one), else ranked suggestions. This is the computation a sync runs over every
/// unmatched account (exposed for the matching benchmark).
pub fn match_accounts<'a>(
    members: &'a [TeamMember],
    accounts: &[AppAccount],
) -> Vec<(Option<&'a TeamMember>, Vec<Suggestion>)> {
    let identities = Roster::identities(members);
    let roster = Roster::new(members, &identities);
    let mut id = Identity::default();
    accounts
        .iter()
        .map(|account| {
            id.fill_from_account(account);
            match roster.exact(&id) {
                Some(tm) => (Some(tm), Vec::new()),
                None => (None, roster.suggestions(&id)),
            }
        })
        .collect()
}

/// The team members an index key leads to: nearly always one, so no allocation for it.
pub(super) enum Hits {
    One(usize),
    Many(Vec<usize>),
}

impl Hits {
    pub(super) fn push(&mut self, i: usize) {
        match self {
            Hits::One(first) => *self = Hits::Many(vec![*first, i]),
            Hits::Many(all) => all.push(i),
        }
    }

    pub(super) fn as_slice(&self) -> &[usize] {
        match self {
            Hits::One(i) => std::slice::from_ref(i),
            Hits::Many(all) => all,
        }
    }
}

/// An index from a normalised key to team members. Keys come from vendors and team members;
/// foldhash is seeded per process and several times faster than the standard SipHash here.
pub(super) type Index<'i> = foldhash::HashMap<&'i [u8], Hits>;

/// Team members indexed for matching: a sync of 100k accounts stays linear.
pub(super) struct Roster<'a, 'i> {
    members: &'a [TeamMember],
    identities: &'i [Identity],
    by_email: Index<'i>,
    by_local: Index<'i>,
    by_name: Index<'i>,
    by_last: Index<'i>,
}

/// What can agree between an account and a team member, the points each earns, and what it
/// tells the admin (in this order in a suggestion's reason).
pub(super) const LIKENESSES: [(u8, &str); 4] = [
    (60, "same email"),
    (30, "same name"),
    (25, "same email name"),
    (10, "same last name"),
];
pub(super) const SAME_EMAIL: usize = 0;
pub(super) const SAME_NAME: usize = 1;
pub(super) const SAME_EMAIL_NAME: usize = 2;
pub(super) const SAME_LAST_NAME: usize = 3;
/// Below this a likeness is not worth showing.
pub(super) const SUGGESTION_FLOOR: u8 = 25;

/// What a set of likenesses (bits of `LIKENESSES`) tells the admin: "same email name, same
/// last name".
pub(super) fn reason(seen: u8) -> String {
    let mut reason = String::with_capacity(48);
    for (bit, (_, why)) in LIKENESSES.iter().enumerate() {
        if seen & (1 << bit) != 0 {
            if !reason.is_empty() {
                reason.push_str(", ");
            }
            reason.push_str(why);
        }
    }
    reason
}

impl<'a, 'i> Roster<'a, 'i> {
    pub(super) fn identities(members: &[TeamMember]) -> Vec<Identity> {
        members.iter().map(Identity::of_member).collect()
    }

    pub(super) fn new(members: &'a [TeamMember], identities: &'i [Identity]) -> Self {
        let index = || Index::with_capacity_and_hasher(members.len(), Default::default());
        let mut r = Roster {
            members,
            identities,
            by_email: index(),
            by_local: index(),
            by_name: index(),
            by_last: index(),
        };
        for (i, id) in identities.iter().enumerate() {
            for (map, key) in [
                (&mut r.by_email, id.email()),
                (&mut r.by_local, id.local_part()),
                (&mut r.by_name, id.full_name()),
                (&mut r.by_last, id.last_name()),
            ] {
                if let Some(k) = key {
                    map.entry(k)
                        .and_modify(|hits| hits.push(i))
                        .or_insert(Hits::One(i));
                }
            }
        }
        r
    }

    /// The one team member whose name and email are both the same, if exactly one.
    pub(super) fn exact(&self, id: &Identity) -> Option<&'a TeamMember> {
        let (email, name) = (id.email()?, id.full_name()?);
        let mut hits = self
            .by_email
            .get(email)?
            .as_slice()
            .iter()
            .filter(|&&i| self.identities[i].full_name() == Some(name))
            .map(|&i| &self.members[i]);
        let first = hits.next()?;
        hits.next().is_none().then_some(first)
    }

    /// Ranked guesses for the admin (best first, at most three).
    pub(super) fn suggestions(&self, id: &Identity) -> Vec<Suggestion> {
        // Few members share a key, so a short list beats a map here; each member's
        // likenesses are a bit set, turned into words only for what is shown.
        let mut scores: Vec<(usize, u8, u8)> = Vec::new();
        let mut add = |map: &Index<'i>, key: Option<&[u8]>, likeness: usize| {
            for &i in key.and_then(|k| map.get(k)).map_or(&[][..], Hits::as_slice) {
                let points = LIKENESSES[likeness].0;
                match scores.iter_mut().find(|(m, _, _)| *m == i) {
                    Some((_, score, seen)) => {
                        *score = score.saturating_add(points);
                        *seen |= 1 << likeness;
                    }
                    None => scores.push((i, points, 1 << likeness)),
                }
            }
        };
        add(&self.by_email, id.email(), SAME_EMAIL);
        add(&self.by_name, id.full_name(), SAME_NAME);
        if !id.email().is_some_and(|e| self.by_email.contains_key(e)) {
            add(&self.by_local, id.local_part(), SAME_EMAIL_NAME);
        }
        if !id.full_name().is_some_and(|n| self.by_name.contains_key(n)) {
            add(&self.by_last, id.last_name(), SAME_LAST_NAME);
        }
        let mut ranked: Vec<Suggestion> = scores
            .into_iter()
            .filter(|(_, score, _)| *score >= SUGGESTION_FLOOR)
            .map(|(i, score, seen)| Suggestion {
                team_member_id: self.members[i].id.clone(),
                score: score.min(100),
                reason: reason(seen),
            })
            .collect();
        ranked.sort_by(|a, b| {
            b.score
                .cmp(&a.score)
                .then_with(|| a.team_member_id.cmp(&b.team_member_id))
        });
        ranked.truncate(3);
        ranked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prov_core::connector::AccountStatus;
    use prov_core::team::{self, EmploymentStatus};

    use crate::accounts::records::Matching;

    /// The plain definition the fast normalisation must agree with.
    fn normalised(s: &str) -> String {
        s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
    }

    proptest::proptest! {
        #[test]
        fn names_normalise_as_their_plain_definition(
            first in "[ a-zA-Z\t\u{0b}\u{a0}ΣσςÉé'-]{0,12}",
            last in "[ a-zA-Z\t\u{0b}\u{a0}ΣσςÉé'-]{0,12}",
            email in "[ a-zA-Z0-9@.É]{0,16}",
        ) {
            let mut out = b"left over".to_vec();
            normalise_into(&mut out, &[&first, &last]);
            let expected = normalised(&format!("{first} {last}"));
            proptest::prop_assert_eq!(out.as_slice(), expected.as_bytes());
            let mut id = Identity::default();
            id.fill(Some(&email), FullName::FirstLast(&first), Some(&last));
            let full_key = normalised(&format!("{first} {last}"));
            proptest::prop_assert_eq!(id.full_name(), Some(full_key.as_bytes()).filter(|n| !n.is_empty()));
            let email_key = values::email_key(&email);
            let last_key = normalised(&last);
            proptest::prop_assert_eq!(id.email(), Some(email_key.as_bytes()).filter(|e| !e.is_empty()));
            proptest::prop_assert_eq!(id.last_name(), Some(last_key.as_bytes()).filter(|n| !n.is_empty()));
        }
    }

    #[test]
    fn suggestions_rank_what_agrees() {
        let now = chrono::Utc::now();
        let member = |id: &str, first: &str, last: &str, email: &str| TeamMember {
            id: id.into(),
            company_id: "com_1".into(),
            first_name: first.into(),
            last_name: last.into(),
            email: Some(email.into()),
            kind: team::Kind::Employee,
            work_country: "US".into(),
            start_date: None,
            offer_status: team::OfferStatus::None,
            employment_status: EmploymentStatus::Active,
            last_day: None,
            rehired_on: None,
            created_at: now,
            updated_at: now,
        };
        let members = [
            member("tm_1", "Ada", "Lovelace", "ada@example.com"),
            member("tm_2", "Ada", "Lovelace", "ada.l@other.example"),
            member("tm_3", "Grace", "Hopper", "grace@example.com"),
            member("tm_4", "Alan", "Turing", "alan@example.com"),
        ];
        let account = |first: &str, last: &str, email: &str| AppAccount {
            id: "acc".into(),
            app: "app".into(),
            vendor_id: "v".into(),
            email: Some(email.into()),
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            display_name: None,
            status: AccountStatus::Active,
            present: true,
            matching: Matching::Unmatched,
            suggestions: Vec::new(),
            first_seen_at: now,
            updated_at: now,
            tenant: None,
            work_email: None,
        };
        let got = match_accounts(
            &members,
            &[
                account(" ADA ", "lovelace", "Ada@Example.com "),
                account("Ada", "Lovelace", "someone@else.example"),
                account("G.", "Hopper", "grace@elsewhere.example"),
                account("Bot", "Number 9", "bot@vendor.example"),
            ],
        );
        // Name and email agree with exactly one member (case and spaces aside): matched.
        assert_eq!(got[0].0.map(|tm| tm.id.as_str()), Some("tm_1"));
        // Two members share the name: suggested, not matched.
        assert_eq!(got[1].0, None);
        let ids: Vec<_> = got[1]
            .1
            .iter()
            .map(|s| (s.team_member_id.as_str(), s.score))
            .collect();
        assert_eq!(ids, [("tm_1", 30), ("tm_2", 30)]);
        // Email name and last name: one suggestion with both reasons.
        assert_eq!(got[2].1.len(), 1);
        assert_eq!(got[2].1[0].team_member_id, "tm_3");
        assert_eq!(got[2].1[0].score, 35);
        assert_eq!(got[2].1[0].reason, "same email name, same last name");
        // Nothing in common: nothing suggested.
        assert_eq!(got[3], (None, Vec::new()));
    }
}

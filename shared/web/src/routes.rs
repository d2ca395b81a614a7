//! A function's list of routes, `(method, path)`, joined at compile time from the lists of
//! its features, each of which owns its routes: `pub const ROUTES: &[Route] =
//! prov_web::join_routes!(team::ROUTES, admins::ROUTES);`.

/// A route, as `(method, path)`.
pub type Route = (&'static str, &'static str);

/// How many routes `parts` hold together.
pub const fn count(parts: &[&[Route]]) -> usize {
    let mut total = 0;
    let mut i = 0;
    while i < parts.len() {
        total += parts[i].len();
        i += 1;
    }
    total
}

/// `parts` one after the other; `N` is [`count`] of them (any other fails the build).
pub const fn join<const N: usize>(parts: &[&[Route]]) -> [Route; N] {
    let mut joined = [("", ""); N];
    let mut at = 0;
    let mut i = 0;
    while i < parts.len() {
        let mut j = 0;
        while j < parts[i].len() {
            joined[at] = parts[i][j];
            at += 1;
            j += 1;
        }
        i += 1;
    }
    assert!(at == N, "N must be the number of routes of the parts");
    joined
}

/// The routes of the given lists, one after the other, as a `&'static [Route]` constant.
#[macro_export]
macro_rules! join_routes {
    ($($part:expr),+ $(,)?) => {{
        const PARTS: &[&[$crate::routes::Route]] = &[$($part),+];
        &$crate::routes::join::<{ $crate::routes::count(PARTS) }>(PARTS)
    }};
}

#[cfg(test)]
mod tests {
    use super::Route;

    const FIRST: &[Route] = &[("GET", "/a"), ("POST", "/a")];
    const SECOND: &[Route] = &[("GET", "/b")];
    const EMPTY: &[Route] = &[];

    #[test]
    fn joins_every_route_in_order() {
        const JOINED: &[Route] = join_routes!(FIRST, EMPTY, SECOND);
        assert_eq!(JOINED, [("GET", "/a"), ("POST", "/a"), ("GET", "/b")]);
    }
}

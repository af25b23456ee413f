//! Channel addresses as NATS subjects: an AsyncAPI parameter (`orders.{orderId}`) stands for
//! one token, i.e. the `*` wildcard.

/// The subject a channel address matches: each `{param}` becomes `*`. A parameter that is only
/// part of a token (`orders.v{n}`) still widens that whole token to `*`, since NATS wildcards
/// match whole tokens only.
pub fn to_subject(address: &str) -> String {
    address
        .split('.')
        .map(|token| if token.contains('{') { "*" } else { token })
        .collect::<Vec<_>>()
        .join(".")
}

/// The parameter names used in an address, in order.
pub fn parameters(address: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = address;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                names.push(after[..close].to_string());
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    names
}

/// True when the address, with parameters as wildcards, is a valid NATS subject.
pub fn is_valid(address: &str) -> bool {
    let subject = to_subject(address);
    !subject.contains(['{', '}']) && weir_subject::is_valid_subject(subject.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_become_single_token_wildcards() {
        assert_eq!(to_subject("orders.{orderId}"), "orders.*");
        assert_eq!(
            to_subject("orders.{region}.{id}.created"),
            "orders.*.*.created"
        );
        assert_eq!(to_subject("orders.v{n}"), "orders.*");
        assert_eq!(to_subject("orders.created"), "orders.created");
        assert_eq!(parameters("a.{x}.{y}"), vec!["x", "y"]);
        assert!(parameters("a.b").is_empty());
    }

    #[test]
    fn validity() {
        assert!(is_valid("orders.{orderId}"));
        assert!(is_valid("orders.>"));
        assert!(!is_valid("orders..created"));
        assert!(!is_valid("orders created"));
        assert!(!is_valid(""));
    }

    #[test]
    fn a_parameter_matches_any_one_token() {
        let subject = to_subject("orders.{orderId}.shipped");
        assert!(weir_subject::matches(
            subject.as_bytes(),
            b"orders.o-1.shipped"
        ));
        assert!(!weir_subject::matches(
            subject.as_bytes(),
            b"orders.o-1.x.shipped"
        ));
    }
}

//! Subject-transform validation (ADR-30, ADR-36) to the depth stream
//! configs need: destination shape and wildcard references.
//!
//! The error texts are Weir's own; nats-server's wrap Go error values that
//! do not carry over exactly.

use weir_subject::is_valid_subject;

/// Transform functions nats-server knows (`{{name(args)}}`).
const FUNCTIONS: &[&str] = &[
    "wildcard",
    "partition",
    "split",
    "splitfromleft",
    "splitfromright",
    "slicefromleft",
    "slicefromright",
    "left",
    "right",
    "random",
];

/// Checks that `dest` is a valid mapping of `src` (an empty `src` means
/// `>`): every `*`, `$N` and `{{wildcard(N)}}` in `dest` refers to a `*`
/// of `src`, a `>` in `dest` needs a trailing `>` in `src`, and function
/// tokens are known. An empty `dest` is allowed (filter only).
pub fn validate_transform(src: &str, dest: &str) -> Result<(), String> {
    if dest.is_empty() {
        return Ok(());
    }
    let src = if src.is_empty() { ">" } else { src };
    if !is_valid_subject(src.as_bytes()) {
        return Err(format!("invalid subject {src}"));
    }
    let src_pwc = src.split('.').filter(|t| *t == "*").count();
    let src_fwc = src.ends_with('>') && src.split('.').next_back() == Some(">");
    let dest_tokens: Vec<&str> = dest.split('.').collect();
    let mut dest_pwc = 0usize;
    for (i, tok) in dest_tokens.iter().enumerate() {
        let last = i + 1 == dest_tokens.len();
        match *tok {
            "" => {
                return Err(format!(
                    "invalid mapping destination: empty token in {dest}"
                ))
            }
            ">" if !last || !src_fwc => {
                return Err(format!("invalid mapping destination: '>' in {dest}"));
            }
            ">" => {}
            "*" => {
                dest_pwc += 1;
                if dest_pwc > src_pwc {
                    return Err(format!(
                        "invalid mapping destination: too many wildcards in {dest}"
                    ));
                }
            }
            // Legacy `$n`: nats-server's indexPlaceHolders takes a `$` token
            // whose rest is not an integer (`$KV`, `$JS`) as a literal.
            t if t.len() > 1 && t.starts_with('$') && t[1..].parse::<i64>().is_ok() => {
                check_index(&t[1..], src_pwc, dest)?
            }
            t if t.contains("{{") => check_function(t, src_pwc, dest)?,
            t if t.chars().any(|c| c.is_whitespace()) => {
                return Err(format!("invalid mapping destination: {dest}"));
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_index(idx: &str, src_pwc: usize, dest: &str) -> Result<(), String> {
    match idx.trim().parse::<usize>() {
        Ok(n) if n >= 1 && n <= src_pwc => Ok(()),
        _ => Err(format!(
            "invalid mapping destination: wildcard index {idx} out of range in {dest}"
        )),
    }
}

fn check_function(token: &str, src_pwc: usize, dest: &str) -> Result<(), String> {
    let inner = token
        .trim()
        .strip_prefix("{{")
        .and_then(|t| t.strip_suffix("}}"))
        .ok_or_else(|| format!("invalid mapping destination: {dest}"))?
        .trim();
    let open = inner
        .find('(')
        .filter(|_| inner.ends_with(')'))
        .ok_or_else(|| format!("invalid mapping destination: {dest}"))?;
    let name = inner[..open].trim().to_ascii_lowercase();
    if !FUNCTIONS.contains(&name.as_str()) {
        return Err(format!(
            "invalid mapping destination: unknown function {name} in {dest}"
        ));
    }
    let args: Vec<&str> = inner[open + 1..inner.len() - 1]
        .split(',')
        .map(str::trim)
        .collect();
    match name.as_str() {
        "wildcard" => match args.as_slice() {
            [n] => check_index(n, src_pwc, dest),
            _ => Err(format!("invalid mapping destination: {dest}")),
        },
        // partition(buckets, wildcard indexes...)
        "partition" => match args.split_first() {
            Some((n, rest)) if n.parse::<u32>().is_ok_and(|n| n > 0) => {
                rest.iter().try_for_each(|i| check_index(i, src_pwc, dest))
            }
            _ => Err(format!("invalid mapping destination: {dest}")),
        },
        "random" => match args.as_slice() {
            [n] if n.parse::<u32>().is_ok_and(|n| n > 0) => Ok(()),
            _ => Err(format!("invalid mapping destination: {dest}")),
        },
        // split(index, delimiter) and the slice/left/right family
        // (index, count).
        _ => match args.as_slice() {
            [i, n] if !n.is_empty() => check_index(i, src_pwc, dest),
            _ => Err(format!("invalid mapping destination: {dest}")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_wildcard_mappings() {
        assert!(validate_transform("a.>", "r.>").is_ok());
        assert!(validate_transform("", "r.>").is_ok());
        assert!(validate_transform("a.*.b", "x.*").is_ok());
        assert!(validate_transform("s7.>", "r.*").is_err());
        assert!(validate_transform("a.b", "r.>").is_err());
        assert!(validate_transform("a.>", "r.>.x").is_err());
        assert!(validate_transform("a.*", "r..x").is_err());
        assert!(validate_transform("a.*", "").is_ok());
    }

    #[test]
    fn references_and_functions() {
        assert!(validate_transform("a.*.*", "b.$2.$1").is_ok());
        assert!(validate_transform("a.*", "b.$2").is_err());
        assert!(validate_transform("a.*", "b.$0").is_err());
        // `$` + non-integer is a literal token, as in nats-server.
        assert!(validate_transform("A.>", "$KV.test.>").is_ok());
        assert!(validate_transform("a", "$JS.x.$").is_ok());
        assert!(validate_transform("a.*", "b.{{wildcard(1)}}").is_ok());
        assert!(validate_transform("a.*", "b.{{ Wildcard( 1 ) }}").is_ok());
        assert!(validate_transform("a.*", "b.{{wildcard(2)}}").is_err());
        assert!(validate_transform("a.*", "b.{{partition(10,1)}}").is_ok());
        assert!(validate_transform("a.*", "b.{{split(1,-)}}").is_ok());
        assert!(validate_transform("a.*", "b.{{split(2,-)}}").is_err());
        assert!(validate_transform("a.*", "b.{{splitfromleft(1,2)}}").is_ok());
        assert!(validate_transform("a.*", "b.{{random(5)}}").is_ok());
        assert!(validate_transform("a.*", "b.{{nope(1)}}").is_err());
        assert!(validate_transform("a.*", "b.{{wildcard(1)").is_err());
    }
}

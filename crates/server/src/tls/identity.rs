//! The names a verified client certificate carries, in the order nats-server tries them when
//! `verify_and_map` maps a certificate to a user: email SANs, DNS SANs, URI SANs, then the
//! subject as an RFC 2253 string formatted as Go's `pkix.Name.String()` does.

use x509_parser::prelude::{FromDer, GeneralName, X509Certificate, X509Name};

/// Identities of the DER certificate `der`, or an empty list if it cannot be parsed (it was
/// already verified by rustls, so that would mean an extension x509-parser rejects).
pub fn identities(der: &[u8]) -> Vec<String> {
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return Vec::new();
    };
    let mut emails = Vec::new();
    let mut dns = Vec::new();
    let mut uris = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::RFC822Name(s) => emails.push(s.to_string()),
                GeneralName::DNSName(s) => dns.push(s.to_string()),
                GeneralName::URI(s) => uris.push(s.to_string()),
                _ => {}
            }
        }
    }
    let mut out = emails;
    out.append(&mut dns);
    out.append(&mut uris);
    let subject = rfc2253(cert.subject());
    if !subject.is_empty() {
        out.push(subject);
    }
    out
}

/// The attribute types Go keeps in `pkix.Name`, in `ToRDNSequence` order. Others (UID,
/// emailAddress, DC, ...) are dropped, exactly as nats-server 2.9.10 drops them.
const KEPT: [(&str, &str); 9] = [
    ("2.5.4.6", "C"),
    ("2.5.4.8", "ST"),
    ("2.5.4.7", "L"),
    ("2.5.4.9", "STREET"),
    ("2.5.4.17", "POSTALCODE"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("2.5.4.3", "CN"),
    ("2.5.4.5", "SERIALNUMBER"),
];

/// The subject as nats-server 2.9.10 prints it (`cert.Subject.ToRDNSequence().String()`):
/// RFC 2253 escaping, RDNs last to first, values of one type together as a multi-valued RDN
/// (`OU=a+OU=b`), and for CN and SERIALNUMBER only the last value.
pub fn rfc2253(name: &X509Name<'_>) -> String {
    let mut values: [Vec<&str>; 9] = Default::default();
    for atv in name.iter_attributes() {
        let oid = atv.attr_type().to_id_string();
        let (Some(slot), Ok(value)) = (KEPT.iter().position(|(o, _)| *o == oid), atv.as_str())
        else {
            continue;
        };
        if KEPT[slot].1 == "CN" || KEPT[slot].1 == "SERIALNUMBER" {
            values[slot].clear();
        }
        values[slot].push(value);
    }
    let rdns: Vec<String> = KEPT
        .iter()
        .zip(&values)
        .filter(|(_, vals)| !vals.is_empty())
        .map(|((_, short), vals)| {
            vals.iter()
                .map(|v| format!("{short}={}", escape(v)))
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(",")
}

/// RFC 2253 escaping as Go applies it.
fn escape(value: &str) -> String {
    let last = value.chars().count().saturating_sub(1);
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';');
        if special || (c == ' ' && (i == 0 || i == last)) || (c == '#' && i == 0) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, SanType};

    #[test]
    fn escaping_follows_rfc2253() {
        assert_eq!(escape("a,b"), "a\\,b");
        assert_eq!(escape(" x "), "\\ x\\ ");
        assert_eq!(escape("#x#"), "\\#x#");
        assert_eq!(escape("plain"), "plain");
    }

    /// The subject nats-server 2.9.10 logged for `/O=Acme, Inc./OU=eng/CN=alice+UID=a1/
    /// emailAddress=...` ("User in cert [...]"): unknown types dropped, comma escaped.
    #[test]
    fn subject_matches_go() {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "Acme, Inc.");
        dn.push(DnType::OrganizationalUnitName, "eng");
        dn.push(DnType::CommonName, "alice");
        dn.push(
            DnType::CustomDnType(vec![0, 9, 2342, 19200300, 100, 1, 1]),
            "a1",
        );
        dn.push(DnType::CountryName, "NL");
        params.distinguished_name = dn;
        params.subject_alt_names = vec![
            SanType::DnsName("b.test".try_into().expect("dns")),
            SanType::Rfc822Name("a@x.test".try_into().expect("email")),
            SanType::URI("nats://alice".try_into().expect("uri")),
            SanType::DnsName("a.test".try_into().expect("dns")),
        ];
        let cert = params.self_signed(&key).expect("cert");
        assert_eq!(
            identities(cert.der()),
            vec![
                "a@x.test",
                "b.test",
                "a.test",
                "nats://alice",
                "CN=alice,OU=eng,O=Acme\\, Inc.,C=NL"
            ]
        );
    }

    #[test]
    fn garbage_yields_no_identities() {
        assert!(identities(b"not a certificate").is_empty());
    }
}

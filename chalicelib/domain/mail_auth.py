"""Whether a mail's From domain vouched for it: SPF and DKIM read as DMARC aligns them.

Pure policy over verdicts a provider reports (chalicelib/channels/sendgrid_inbound.py reads
SendGrid's); an agent's reply is refused, and a customer's mail is not acknowledged, when
this says the sender's own domain disowns it.
"""

from __future__ import annotations

from dataclasses import dataclass

SPF_FAILURES = frozenset({"fail", "softfail"})


def aligned(domain: str, from_domain: str) -> bool:
    """Relaxed alignment without a public-suffix list: the same domain, or one a
    subdomain of the other (`mail.shop.example` speaks for `shop.example`)."""
    if not domain or not from_domain:
        return False
    return (
        domain == from_domain
        or domain.endswith("." + from_domain)
        or from_domain.endswith("." + domain)
    )


@dataclass(frozen=True)
class SenderAuthentication:
    """SendGrid's SPF and DKIM verdicts for a mail, read against its From domain.

    Inbound Parse posts them (both modes) as `SPF`, one word for the envelope sender
    (`pass`, `softfail`, `fail`, `neutral`, `none`, `temperror`, `permerror`), and `dkim`,
    one result per signature (`{@shop.example : pass, @esp.example : fail}`, or `none`).
    SPF speaks for the envelope sender's domain, DKIM for the signing domain: either
    counts for From only when that domain is aligned with From's (as DMARC reads them).
    """

    reported: bool = False
    """SendGrid posted an SPF or dkim verdict (it does unless the Parse setup is old)."""
    spf: str = ""
    spf_aligned: bool = False
    """The envelope sender's domain is aligned with From's (an empty one never is)."""
    dkim: tuple[tuple[str, str], ...] = ()
    """(signing domain, result) per signature."""
    from_domain: str = ""

    @property
    def authenticated(self) -> bool:
        """An aligned SPF or DKIM pass: From's domain vouched for this mail."""
        return (self.spf == "pass" and self.spf_aligned) or any(
            result == "pass" and aligned(domain, self.from_domain) for domain, result in self.dkim
        )

    @property
    def failed(self) -> bool:
        """SendGrid reported a failure and nothing authenticates From: SPF failed
        (fail/softfail), an aligned DKIM signature failed, or the only passes are for
        other domains (someone vouched for the mail, but not From's domain).

        Not a failure: nothing reported, or only inconclusive verdicts (`none`,
        `neutral`, temporary errors): the sender's domain publishes nothing to check.
        """
        if not self.reported or self.authenticated:
            return False
        aligned_dkim = [r for d, r in self.dkim if aligned(d, self.from_domain)]
        someone_else_passed = self.spf == "pass" or any(r == "pass" for _, r in self.dkim)
        return (
            self.spf in SPF_FAILURES
            or any(r in ("fail", "permerror") for r in aligned_dkim)
            or someone_else_passed
        )

    def summary(self) -> str:
        """For logs: the verdicts and domains, never an address."""
        dkim = ", ".join(f"{d}:{r}" for d, r in self.dkim) or "none"
        aligned = "aligned" if self.spf_aligned else "unaligned"
        return f"spf={self.spf or 'none'} ({aligned}) dkim={dkim} from-domain={self.from_domain}"

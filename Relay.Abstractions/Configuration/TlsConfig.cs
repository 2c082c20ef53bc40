namespace Relay.Configuration;

/// <summary>
/// The certificate of RTSPS and HTTPS (<c>Relay:Tls:Certificate</c>), given the way Kestrel takes one: <c>Path</c> to a
/// PEM certificate (with <c>KeyPath</c> to its PEM key, unless the key is in the same file) or to a PFX/PKCS#12 file,
/// and <c>Password</c> for a PFX or an encrypted key. The files are read again when they change.
/// </summary>
public sealed record TlsConfig
{
    /// <summary>Gets the certificate file (PEM, or PFX/PKCS#12 when it ends in .pfx or .p12).</summary>
    public string? CertificatePath { get; init; }

    /// <summary>Gets the PEM private key file, when it is not in the certificate file.</summary>
    public string? KeyPath { get; init; }

    /// <summary>Gets the password of a PFX file or of an encrypted PEM key (a secret: never logged).</summary>
    public string? Password { get; init; }

    /// <summary>Gets a value indicating whether a certificate is configured (RTSPS and HTTPS can be served).</summary>
    public bool Enabled => CertificatePath is not null;
}

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Relay.Configuration;

namespace Relay.Server.Auth;

/// <summary>
/// The certificate RTSPS and HTTPS present, from <c>Relay:Tls:Certificate</c>. At most every two seconds, a TLS
/// handshake has the files compared with what was loaded; changed files (a renewed certificate, a Kubernetes secret
/// update through its symbolic links) are loaded for the next handshakes. Files that fail to load keep the last good
/// certificate, with an error in the log.
/// </summary>
internal sealed partial class CertificateStore : IDisposable
{
    private static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(2);
    private readonly TlsConfig _config;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private X509Certificate2 _current;
    private byte[] _loadedFrom;
    private long _lastCheck;

    /// <exception cref="CryptographicException">The certificate cannot be loaded.</exception>
    /// <exception cref="IOException">A file cannot be read.</exception>
    public CertificateStore(RelayConfig relay, TimeProvider time, ILogger<CertificateStore> logger)
    {
        var config = relay.Tls;
        _config = config;
        _time = time;
        _logger = logger;
        _loadedFrom = ReadFiles();
        _current = Load(config);
        _lastCheck = time.GetTimestamp();
        Log.Loaded(logger, _current.Subject, _current.NotAfter.ToUniversalTime().ToString("u", System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Gets the certificate to present now.</summary>
    public X509Certificate2 Current
    {
        get
        {
            lock (_gate)
            {
                if (_time.GetElapsedTime(_lastCheck) >= CheckInterval)
                {
                    _lastCheck = _time.GetTimestamp();
                    ReloadIfChangedLocked();
                }

                return _current;
            }
        }
    }

    /// <summary>Loads the configured certificate (with its private key).</summary>
    public static X509Certificate2 Load(TlsConfig config)
    {
        var path = config.CertificatePath ?? throw new InvalidOperationException("No certificate is configured.");
        if (Path.GetExtension(path).ToLowerInvariant() is ".pfx" or ".p12")
        {
            return X509CertificateLoader.LoadPkcs12FromFile(path, config.Password);
        }

        var certificate = config.Password is null
            ? X509Certificate2.CreateFromPemFile(path, config.KeyPath)
            : X509Certificate2.CreateFromEncryptedPemFile(path, config.Password, config.KeyPath);
        if (!certificate.HasPrivateKey)
        {
            certificate.Dispose();
            throw new CryptographicException("the certificate has no private key (set KeyPath)");
        }

        return certificate;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _current.Dispose();
        }
    }

    private void ReloadIfChangedLocked()
    {
        try
        {
            var files = ReadFiles();
            if (files.AsSpan().SequenceEqual(_loadedFrom))
            {
                return;
            }

            var next = Load(_config);
            _loadedFrom = files;

            // The old certificate is not disposed: a handshake running now may still use it.
            _current = next;
            Log.Loaded(_logger, next.Subject, next.NotAfter.ToUniversalTime().ToString("u", System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            Log.ReloadFailed(_logger, e.Message);
        }
    }

    private byte[] ReadFiles()
    {
        var certificate = File.ReadAllBytes(_config.CertificatePath!);
        return _config.KeyPath is null ? certificate : [.. certificate, .. File.ReadAllBytes(_config.KeyPath)];
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.Auth + 10, LogLevel.Information, "TLS certificate loaded: {Subject}, valid until {NotAfter}.")]
        public static partial void Loaded(ILogger logger, string subject, string notAfter);

        [LoggerMessage(EventIds.Auth + 11, LogLevel.Error, "The TLS certificate files changed but cannot be loaded ({Reason}); the previous certificate is kept.")]
        public static partial void ReloadFailed(ILogger logger, string reason);
    }
}

namespace Relay.Server.Hosting;

/// <summary>What an API request makes of a stream or a channel.</summary>
internal enum EditKind
{
    /// <summary>Nothing (the request was refused).</summary>
    None,

    /// <summary>Created or replaced by <see cref="Edit{TConfig}.Config"/>.</summary>
    Save,

    /// <summary>Deleted.</summary>
    Delete,
}

/// <summary>What an API request makes of a stream or a channel: see <see cref="StreamRegistry.EditStreamAsync"/>.</summary>
/// <param name="Kind">Save, delete, or nothing.</param>
/// <param name="Config">The new configuration, for <see cref="EditKind.Save"/>.</param>
internal readonly record struct Edit<TConfig>(EditKind Kind, TConfig? Config = null)
    where TConfig : class
{
    public static Edit<TConfig> None => new(EditKind.None);

    public static Edit<TConfig> Delete => new(EditKind.Delete);

    public static Edit<TConfig> Save(TConfig config) => new(EditKind.Save, config);
}

using System.Buffers.Binary;
using System.Text;

namespace Relay.Tests.Fixtures;

/// <summary>A box of an ISO BMFF file as a test reads it back (a reader written for the tests, not the product's writer).</summary>
public sealed record Mp4Box(string Type, int Offset, byte[] File, int Start, int End)
{
    private static readonly HashSet<string> Containers = ["moov", "trak", "mdia", "minf", "stbl", "dinf", "mvex", "moof", "traf"];

    /// <summary>Gets the box's payload (after its 8-byte header).</summary>
    public ReadOnlySpan<byte> Payload => File.AsSpan(Start, End - Start);

    /// <summary>Gets the child boxes (for container boxes).</summary>
    public IReadOnlyList<Mp4Box> Children => Containers.Contains(Type) ? Parse(File, Start, End) : [];

    /// <summary>Reads the top-level boxes of <paramref name="file"/>.</summary>
    public static List<Mp4Box> Parse(byte[] file) => Parse(file, 0, file.Length);

    /// <summary>Finds the first box of a path such as <c>moov/trak/mdia/mdhd</c> among <paramref name="boxes"/>.</summary>
    public static Mp4Box? Find(IEnumerable<Mp4Box> boxes, string path)
    {
        var parts = path.Split('/');
        var box = boxes.FirstOrDefault(b => b.Type == parts[0]);
        return box is null || parts.Length == 1 ? box : Find(box.Children, string.Join('/', parts[1..]));
    }

    /// <summary>Finds every box of a type among <paramref name="boxes"/> and their descendants.</summary>
    public static IEnumerable<Mp4Box> All(IEnumerable<Mp4Box> boxes, string type) =>
        boxes.SelectMany(b => (b.Type == type ? [b] : Enumerable.Empty<Mp4Box>()).Concat(All(b.Children, type)));

    public uint U32(int at) => BinaryPrimitives.ReadUInt32BigEndian(Payload[at..]);

    public ulong U64(int at) => BinaryPrimitives.ReadUInt64BigEndian(Payload[at..]);

    private static List<Mp4Box> Parse(byte[] file, int from, int to)
    {
        var boxes = new List<Mp4Box>();
        var at = from;
        while (at + 8 <= to)
        {
            var size = (int)BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(at));
            var type = Encoding.ASCII.GetString(file, at + 4, 4);
            if (size < 8 || at + size > to)
            {
                throw new FormatException($"Box '{type}' at {at} has size {size}, beyond its parent (ends at {to}).");
            }

            boxes.Add(new Mp4Box(type, at, file, at + 8, at + size));
            at += size;
        }

        if (at != to)
        {
            throw new FormatException($"{to - at} stray bytes after the last box at {at}.");
        }

        return boxes;
    }
}

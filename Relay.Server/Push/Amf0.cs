using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Relay.Server.Push;

/// <summary>
/// The part of AMF0 (Action Message Format, version 0) that RTMP commands and FLV metadata use: numbers, booleans,
/// strings, null, objects and ECMA arrays written; those plus strict arrays, undefined, dates and long strings read.
/// </summary>
internal static class Amf0
{
    private const byte NumberMarker = 0;
    private const byte BooleanMarker = 1;
    private const byte StringMarker = 2;
    private const byte ObjectMarker = 3;
    private const byte NullMarker = 5;
    private const byte UndefinedMarker = 6;
    private const byte EcmaArrayMarker = 8;
    private const byte ObjectEndMarker = 9;
    private const byte StrictArrayMarker = 10;
    private const byte DateMarker = 11;
    private const byte LongStringMarker = 12;
    private const int MaxDepth = 16;

    /// <summary>Writes AMF0 values one after another.</summary>
    internal sealed class Writer
    {
        private readonly ArrayBufferWriter<byte> _bytes = new(256);

        public Writer Number(double value)
        {
            Span<byte> number = stackalloc byte[8];
            BinaryPrimitives.WriteDoubleBigEndian(number, value);
            _bytes.Write([NumberMarker]);
            _bytes.Write<byte>(number);
            return this;
        }

        public Writer Boolean(bool value)
        {
            _bytes.Write([BooleanMarker]);
            _bytes.Write([value ? (byte)1 : (byte)0]);
            return this;
        }

        public Writer String(string value)
        {
            _bytes.Write([StringMarker]);
            Name(value);
            return this;
        }

        public Writer Null()
        {
            _bytes.Write([NullMarker]);
            return this;
        }

        /// <summary>Writes an anonymous object of <paramref name="properties"/> (numbers, booleans, strings).</summary>
        public Writer Object(IEnumerable<(string Name, object Value)> properties)
        {
            _bytes.Write([ObjectMarker]);
            return Properties(properties);
        }

        /// <summary>Writes an ECMA array of <paramref name="properties"/> (numbers, booleans, strings).</summary>
        public Writer EcmaArray(IReadOnlyCollection<(string Name, object Value)> properties)
        {
            Span<byte> count = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(count, (uint)properties.Count);
            _bytes.Write([EcmaArrayMarker]);
            _bytes.Write<byte>(count);
            return Properties(properties);
        }

        public byte[] ToArray() => _bytes.WrittenSpan.ToArray();

        private Writer Properties(IEnumerable<(string Name, object Value)> properties)
        {
            foreach (var (name, value) in properties)
            {
                Name(name);
                _ = value switch
                {
                    double d => Number(d),
                    int i => Number(i),
                    bool b => Boolean(b),
                    string s => String(s),
                    _ => throw new ArgumentException($"AMF0 property {name} has a type this writer does not write.", nameof(properties)),
                };
            }

            _bytes.Write<byte>([0, 0, ObjectEndMarker]);
            return this;
        }

        private void Name(string value)
        {
            var bytes = Encoding.UTF8.GetBytes(value);
            if (bytes.Length > ushort.MaxValue)
            {
                throw new ArgumentException("An AMF0 string is at most 65 535 bytes.", nameof(value));
            }

            _bytes.Write([(byte)(bytes.Length >> 8)]);
            _bytes.Write([(byte)bytes.Length]);
            _bytes.Write<byte>(bytes);
        }
    }

    /// <summary>
    /// Reads every value in <paramref name="data"/>: a number is a <see cref="double"/>, then <see cref="bool"/>,
    /// <see cref="string"/>, an object or ECMA array a dictionary, a strict array a list, null and undefined null, a
    /// date its milliseconds.
    /// </summary>
    /// <exception cref="FormatException">The data is not AMF0 this reader knows.</exception>
    public static List<object?> ReadAll(ReadOnlySpan<byte> data)
    {
        var values = new List<object?>();
        var at = 0;
        while (at < data.Length)
        {
            values.Add(Read(data, ref at, 0));
        }

        return values;
    }

    private static object? Read(ReadOnlySpan<byte> data, ref int at, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new FormatException("AMF0 values are nested too deeply.");
        }

        var marker = Take(data, ref at, 1)[0];
        switch (marker)
        {
            case NumberMarker:
                return BinaryPrimitives.ReadDoubleBigEndian(Take(data, ref at, 8));
            case BooleanMarker:
                return Take(data, ref at, 1)[0] != 0;
            case StringMarker:
                return ReadName(data, ref at);
            case LongStringMarker:
                var length = BinaryPrimitives.ReadUInt32BigEndian(Take(data, ref at, 4));
                return Encoding.UTF8.GetString(Take(data, ref at, length > int.MaxValue ? -1 : (int)length));
            case NullMarker or UndefinedMarker:
                return null;
            case DateMarker:
                var milliseconds = BinaryPrimitives.ReadDoubleBigEndian(Take(data, ref at, 8));
                _ = Take(data, ref at, 2); // time zone, unused
                return milliseconds;
            case ObjectMarker:
                return ReadProperties(data, ref at, depth);
            case EcmaArrayMarker:
                _ = Take(data, ref at, 4); // the count is a hint; the end marker ends it
                return ReadProperties(data, ref at, depth);
            case StrictArrayMarker:
                var count = BinaryPrimitives.ReadUInt32BigEndian(Take(data, ref at, 4));
                if (count > (uint)(data.Length - at))
                {
                    throw new FormatException("An AMF0 array claims more items than there are bytes.");
                }

                var items = new List<object?>((int)count);
                for (var i = 0; i < count; i++)
                {
                    items.Add(Read(data, ref at, depth + 1));
                }

                return items;
            default:
                throw new FormatException($"AMF0 type {marker} is not supported.");
        }
    }

    private static Dictionary<string, object?> ReadProperties(ReadOnlySpan<byte> data, ref int at, int depth)
    {
        var properties = new Dictionary<string, object?>(StringComparer.Ordinal);
        while (true)
        {
            var name = ReadName(data, ref at);
            if (name.Length == 0 && at < data.Length && data[at] == ObjectEndMarker)
            {
                at++;
                return properties;
            }

            properties[name] = Read(data, ref at, depth + 1);
        }
    }

    private static string ReadName(ReadOnlySpan<byte> data, ref int at)
    {
        var length = BinaryPrimitives.ReadUInt16BigEndian(Take(data, ref at, 2));
        return Encoding.UTF8.GetString(Take(data, ref at, length));
    }

    private static ReadOnlySpan<byte> Take(ReadOnlySpan<byte> data, ref int at, int count)
    {
        if (count < 0 || count > data.Length - at)
        {
            throw new FormatException("AMF0 data ends in the middle of a value.");
        }

        var taken = data.Slice(at, count);
        at += count;
        return taken;
    }
}

using System.Runtime.InteropServices;

namespace Relay.Server.Interop;

/// <summary>libc: batched UDP sends, returning freed heap pages, descriptor calls for the fake camera, and fsync of a directory. Linux x86_64/arm64 (LP64) layouts.</summary>
internal static unsafe partial class LibC
{
    /// <summary>MSG_DONTWAIT: never block; a full socket buffer fails the rest of the batch with EAGAIN.</summary>
    public const int MsgDontWait = 0x40;

    // int sendmmsg (int sockfd, struct mmsghdr *msgvec, unsigned int vlen, int flags);
    //   Returns the number of messages sent, or -1 with errno.
    [LibraryImport(Libs.LibC, SetLastError = true)]
    public static partial int sendmmsg(int sockfd, MMsgHdr* msgvec, uint vlen, int flags);

    /// <summary>SHUT_RDWR: end both directions of a socket.</summary>
    public const int ShutReadWrite = 2;

    /// <summary>F_DUPFD_CLOEXEC: fcntl command that duplicates a descriptor, close-on-exec.</summary>
    public const int FDupFdCloExec = 1030;

    // int fcntl (int fd, int cmd, int arg);   (the F_DUPFD_CLOEXEC form; -1 with errno)
    [LibraryImport(Libs.LibC, SetLastError = true)]
    public static partial int fcntl(int fd, int cmd, int arg);

    // int shutdown (int sockfd, int how);
    [LibraryImport(Libs.LibC, SetLastError = true)]
    public static partial int shutdown(int sockfd, int how);

    // int close (int fd);
    [LibraryImport(Libs.LibC, SetLastError = true)]
    public static partial int close(int fd);

    /// <summary>O_RDONLY | O_DIRECTORY | O_CLOEXEC: open a directory to fsync it (Linux values).</summary>
    public const int ODirectoryReadOnly = 0x10000 | 0x80000;

    // int open (const char *pathname, int flags);
    [LibraryImport(Libs.LibC, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string pathname, int flags);

    // int fsync (int fd);
    [LibraryImport(Libs.LibC, SetLastError = true)]
    public static partial int fsync(int fd);

    // int setenv (const char *name, const char *value, int overwrite);   (the process's C environment, which GLib reads)
    [LibraryImport(Libs.LibC, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int setenv(string name, string value, int overwrite);

    /// <summary>M_ARENA_MAX: mallopt parameter, the most malloc arenas glibc creates.</summary>
    public const int MArenaMax = -8;

    // int mallopt (int param, int value); returns 1 on success.
    [LibraryImport(Libs.LibC)]
    public static partial int mallopt(int param, int value);

    // int malloc_trim (size_t pad); returns 1 if memory was released to the system.
    [LibraryImport(Libs.LibC)]
    public static partial int malloc_trim(nuint pad);
}

/// <summary>struct iovec.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct IoVec
{
    public void* Base;
    public nuint Length;
}

/// <summary>struct mmsghdr: a struct msghdr (56 bytes on LP64) and the bytes sent.</summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
internal unsafe struct MMsgHdr
{
    [FieldOffset(0)] public void* Name;
    [FieldOffset(8)] public uint NameLength;
    [FieldOffset(16)] public IoVec* Iov;
    [FieldOffset(24)] public nuint IovLength;
    [FieldOffset(32)] public void* Control;
    [FieldOffset(40)] public nuint ControlLength;
    [FieldOffset(48)] public int Flags;
    [FieldOffset(56)] public uint Sent;
}

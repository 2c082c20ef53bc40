using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Relay.Server.Rtsp;

/// <summary>
/// Serves one RTSP connection on Kestrel: reads requests and interleaved frames with System.IO.Pipelines,
/// answers in order, and ends the connection's sessions when it closes. A malformed or oversized request gets
/// its status code and the connection is closed; nothing else is affected.
/// </summary>
internal sealed partial class RtspConnectionHandler(RtspServer server, ILogger<RtspConnectionHandler> logger) : ConnectionHandler
{
    /// <inheritdoc />
    public override async Task OnConnectedAsync(ConnectionContext context)
    {
        var connection = new RtspConnection(context);
        var address = connection.RemoteAddress;
        if (server.TryOpenConnection(address) is not null)
        {
            try
            {
                await WriteAsync(connection, new RtspResponse(RtspStatus.ServiceUnavailable) { CloseConnection = true }, null);
            }
            catch (Exception e) when (e is ConnectionResetException or ConnectionAbortedException or IOException or OperationCanceledException or InvalidOperationException or System.Net.Sockets.SocketException)
            {
                // The refused client is gone already.
            }

            return;
        }

        var handler = new RtspRequestHandler(server, connection, logger);
        try
        {
            await ServeAsync(connection, handler);
        }
        catch (Exception e) when (e is ConnectionResetException or ConnectionAbortedException or IOException or OperationCanceledException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            // The client went away or was cut off.
        }
        finally
        {
            foreach (var session in connection.Sessions)
            {
                session.End("the connection closed");
            }

            server.CloseConnection(address);
        }
    }

    private async Task ServeAsync(RtspConnection connection, RtspRequestHandler handler)
    {
        var input = connection.Input;
        long? partialSince = null;
        while (true)
        {
            ReadResult result;
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(connection.Closed, connection.CloseRequested))
            {
                if (partialSince is { } since)
                {
                    // A request is partly here: the rest must arrive in time (slow-client protection).
                    timeout.CancelAfter(Max(TimeSpan.Zero, server.Config.RequestTimeout - server.Time.GetElapsedTime(since)));
                }
                else
                {
                    // Every connection is looked at again after a session timeout of silence: one without sessions then
                    // closes. One whose sessions are playing over TCP is kept (players need not send anything while they
                    // watch; a reader that stops reading is caught by the send side), and sessions set up but never
                    // played end by the housekeeping's timeout, after which their connection closes here.
                    timeout.CancelAfter(server.Config.SessionTimeout);
                }

                try
                {
                    result = await input.ReadAsync(timeout.Token);
                }
                catch (OperationCanceledException) when (!connection.Closed.IsCancellationRequested)
                {
                    if (connection.CloseRequested.IsCancellationRequested)
                    {
                        return; // the relay is shutting down: the sessions end and the connection closes
                    }

                    if (partialSince is null && connection.Sessions.Count > 0)
                    {
                        continue;
                    }

                    server.Metrics?.ConnectionTimedOut(partialSince is null ? "idle" : "request");
                    if (partialSince is not null)
                    {
                        Log.BadRequest(logger, connection.Id, $"incomplete request after {server.Config.RequestTimeout.TotalSeconds:0.#} s");
                        await WriteAsync(connection, new RtspResponse(RtspStatus.BadRequest) { CloseConnection = true }, null);
                    }
                    else
                    {
                        Log.Idle(logger, connection.Id);
                    }

                    return;
                }
            }

            var buffer = result.Buffer;
            var keepGoing = true;
            while (keepGoing)
            {
                var parsed = RtspRequestParser.TryParse(ref buffer, server.Config.MaxRequestBytes);
                switch (parsed.Status)
                {
                    case RtspParseStatus.Request:
                        var request = parsed.Request!;
                        RtspResponse response;
                        RtspSession? startAfter = null;
                        try
                        {
                            (response, startAfter) = await handler.HandleAsync(request, connection.Closed);
                        }
                        catch (Exception e) when (e is not OperationCanceledException)
                        {
                            Log.HandlerFailed(logger, request.Method, e);
                            response = new RtspResponse(RtspStatus.InternalServerError);
                        }

                        if (response.Status >= 400)
                        {
                            Log.RequestRejected(logger, connection.Id, request.Method, response.Status);
                        }

                        server.Metrics?.RequestAnswered(request.Method, response.Status);

                        await WriteAsync(connection, response, request.CSeq);
                        if (response.CloseConnection)
                        {
                            return;
                        }

                        startAfter?.StartSending();
                        break;
                    case RtspParseStatus.Interleaved:
                        OnInterleaved(connection, parsed.Channel, parsed.Data!);
                        break;
                    case RtspParseStatus.Error:
                        Log.BadRequest(logger, connection.Id, parsed.Error!);
                        server.Metrics?.MalformedRequest(parsed.ErrorStatus);
                        await WriteAsync(connection, new RtspResponse(parsed.ErrorStatus) { CloseConnection = true }, null);
                        return;
                    default:
                        keepGoing = false;
                        break;
                }
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                return;
            }

            partialSince = buffer.IsEmpty ? null : partialSince ?? server.Time.GetTimestamp();
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private void OnInterleaved(RtspConnection connection, int channel, byte[] data)
    {
        foreach (var session in connection.Sessions)
        {
            foreach (var transport in session.Transports)
            {
                if (transport.RtcpChannel == channel)
                {
                    session.OnRtcp(transport.Track, data);
                    return;
                }
            }
        }
    }

    /// <summary>
    /// Writes a response. One that cannot be written within the request timeout (a client that sends requests but reads
    /// nothing, so its socket buffer is full) closes the connection.
    /// </summary>
    private async Task WriteAsync(RtspConnection connection, RtspResponse response, int? cseq)
    {
        var bytes = new ArrayBufferWriter<byte>(512);
        response.WriteTo(bytes, cseq);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(connection.Closed);
        timeout.CancelAfter(server.Config.RequestTimeout);
        try
        {
            await connection.WriteLock.WaitAsync(timeout.Token);
            try
            {
                await connection.SendAsync(bytes.WrittenMemory, timeout.Token);
            }
            finally
            {
                connection.WriteLock.Release();
            }
        }
        catch (OperationCanceledException) when (!connection.Closed.IsCancellationRequested)
        {
            Log.NotReading(logger, connection.Id);
            server.Metrics?.ConnectionTimedOut("response");
            connection.Abort("the client does not read its responses");
            throw;
        }

        if (response.CloseConnection)
        {
            await connection.CloseOutputAsync();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.RtspBadRequest, LogLevel.Debug, "RTSP connection {Connection}: bad request ({Reason}); closing.")]
        public static partial void BadRequest(ILogger logger, string connection, string reason);

        [LoggerMessage(EventIds.RtspBadRequest + 10, LogLevel.Debug, "RTSP connection {Connection}: {Method} answered {Status}.")]
        public static partial void RequestRejected(ILogger logger, string connection, string method, int status);

        [LoggerMessage(EventIds.RtspConnectionError, LogLevel.Error, "RTSP {Method} failed.")]
        public static partial void HandlerFailed(ILogger logger, string method, Exception exception);

        [LoggerMessage(EventIds.RtspConnectionError + 11, LogLevel.Debug, "RTSP connection {Connection}: a response could not be written in time (the client reads nothing); closing.")]
        public static partial void NotReading(ILogger logger, string connection);

        [LoggerMessage(EventIds.RtspConnectionError + 10, LogLevel.Debug, "RTSP connection {Connection}: idle without a session; closing.")]
        public static partial void Idle(ILogger logger, string connection);
    }
}

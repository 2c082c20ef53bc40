using Relay.Server.Hosting;

return await RelayApp.RunAsync(args);

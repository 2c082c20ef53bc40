.PHONY: demo test build
demo:
	scripts/demo.sh
test:
	scripts/test.sh
build:
	dotnet build Relay.sln -c Release

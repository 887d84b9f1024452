# syntax=docker/dockerfile:1
# Build a static binary, then ship it alone in a small, non-root image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
# go.mod replaces the client module with ./client (used by tests only).
COPY client/go.mod client/go.sum ./client/
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/broker ./cmd/broker

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/broker /usr/local/bin/broker
USER nonroot:nonroot
EXPOSE 8080 8081 8082 8083
ENTRYPOINT ["/usr/local/bin/broker"]
CMD ["serve"]

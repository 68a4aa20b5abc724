"""The real-time engine: how an event gets from `publish()` to every socket and stream that
should see it, in order, with nothing lost across a reconnect. It knows channels by name
(`user:<id>`, `room:<id>`, `tenant`) and tenants by id, never rooms, messages or users as
rows: the realtime app around it (consumers, views, services) decides who may hold what.

    wire           declaring event types and their data schemas (event_declare, EventData)
    publish        publish / notify_user / broadcast_room / broadcast_tenant, after commit
    eventlog       each tenant's Redis stream: append (= publish), replay after an id
    channel_names  channel names, and the tenant-carrying keys and groups behind them
    hub            one reader per process: reads each event once, frames it once, fans it out
    delivery       one WebSocket's side of the hub (the consumer mixes it in)
    transport      writing the shared frame bytes straight to uvicorn's transport
    frames         the WebSocket protocol: every frame type, both ways, and the close codes
    sse            the Server-Sent Events stream
    presence       connection slots (the per-user limit) and who is in each room, with expiry
    housekeeping   per-process stall checks and the presence heartbeat
    control        closing live connections when access ends (channel-layer control groups)
    loops          one hub and one housekeeper per event loop
"""

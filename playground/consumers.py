from channels.generic.websocket import AsyncJsonWebsocketConsumer


class RunConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        await self.accept()

import asyncio

from services.curator.app import app

if __name__ == "__main__":
    asyncio.run(app.run())

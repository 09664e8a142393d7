import asyncio

from services.trainer.app import app

if __name__ == "__main__":
    asyncio.run(app.run())
